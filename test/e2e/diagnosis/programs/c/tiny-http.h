/* A tiny HTTP/1.0 responder on 127.0.0.1:$PORT for the diagnosis corpus's C programs: /health answers
 * 200, /break answers 200 and then calls the program's on_break() (which fails in its one way), anything
 * else 404. One connection at a time, no keep-alive: enough for preflight's probe and the test's GETs.
 * With `--now` as argv[1] the program calls on_break() at once (a process outside any watched unit). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void on_break(void);

static void reply(int fd, const char *status, const char *body) {
  char buf[256];
  int n = snprintf(buf, sizeof buf, "HTTP/1.0 %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s", status, strlen(body), body);
  if (write(fd, buf, (size_t)n) < 0) perror("write");
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0); /* the journal gets each line as it is printed */
  if (argc > 1 && strcmp(argv[1], "--now") == 0) {
    on_break();
    return 0;
  }
  const char *p = getenv("PORT");
  int port = p ? atoi(p) : 0;
  if (port <= 0) {
    fprintf(stderr, "PORT must be set\n");
    return 2;
  }
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 64) != 0) {
    perror("bind/listen");
    return 1;
  }
  printf("listening on 127.0.0.1:%d pid=%d\n", port, (int)getpid());
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c < 0) continue;
    char req[1024];
    ssize_t n = read(c, req, sizeof req - 1);
    req[n > 0 ? n : 0] = '\0';
    if (strncmp(req, "GET /health ", 12) == 0) {
      reply(c, "200 OK", "ok\n");
    } else if (strncmp(req, "GET /break ", 11) == 0) {
      reply(c, "200 OK", "breaking\n");
      close(c);
      on_break();
      continue;
    } else {
      reply(c, "404 Not Found", "");
    }
    close(c);
  }
}
