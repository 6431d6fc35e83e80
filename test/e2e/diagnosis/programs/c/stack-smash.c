/* Overruns a stack buffer on /break (built with -fstack-protector-all): glibc aborts with
 * "*** stack smashing detected ***: terminated" (SIGABRT). */
#include "tiny-http.h"

static void copy_header(const char *value, size_t len) {
  char header[16];
  memcpy(header, value, len); /* len is larger than header: the canary behind it is overwritten */
  printf("header %.4s\n", header);
}

static void on_break(void) {
  puts("parsing oversized header");
  char big[64];
  memset(big, 'A', sizeof big);
  size_t volatile len = sizeof big;
  copy_header(big, len);
}
