/* Frees one buffer twice on /break: glibc's tcache check aborts with "free(): double free detected in
 * tcache 2" (SIGABRT). */
#include "tiny-http.h"

static void on_break(void) {
  puts("evicting session cache");
  char *volatile p = malloc(32); /* volatile: the compiler must not see (and drop) the second free */
  strcpy(p, "session");
  free(p);
  free(p);
  puts("not reached");
}
