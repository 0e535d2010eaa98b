/* heap-report.c: linked into virtnetmond-asan only. On SIGUSR1 the daemon
 * writes the sanitizer allocator's count of live heap bytes to stderr
 * ("vnm-soak-heap: N"), so the soak can tell memory still referenced
 * (which LeakSanitizer cannot call a leak) from allocator caching. On
 * SIGUSR2 it prints the allocation stacks that hold the most live memory. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sanitizer/allocator_interface.h>
#include <sanitizer/common_interface_defs.h>

static void
report (int sig)
{
  char line[64];
  int n = snprintf (line, sizeof line, "vnm-soak-heap: %zu\n", __sanitizer_get_current_allocated_bytes ());

  if (n > 0)
    (void) !write (STDERR_FILENO, line, (size_t) n);
}

/* SIGUSR2: the allocation stacks holding most live memory, for finding
 * what grows. */
static void
profile (int sig)
{
  __sanitizer_print_memory_profile (100, 40);
}

__attribute__ ((constructor)) static void
install (void)
{
  struct sigaction sa;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = report;
  sa.sa_flags = SA_RESTART;
  sigaction (SIGUSR1, &sa, NULL);
  sa.sa_handler = profile;
  sigaction (SIGUSR2, &sa, NULL);
}
