/* Dereferences NULL on /break: the kernel logs "segfault at 0" and the process dies of SIGSEGV. */
#include "tiny-http.h"

static void on_break(void) {
  puts("looking up route table");
  int *volatile table = NULL;
  printf("first route %d\n", table[0]);
}
