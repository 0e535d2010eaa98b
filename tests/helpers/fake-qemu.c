/* fake-qemu.c: a process whose command line looks like a QEMU that libvirt
 * does not run (Proxmox style). Built as "qemu-system-x86_64" so that
 * virtnetmond's QEMU scan finds it; it ignores its arguments and waits to
 * be killed. */
#include <unistd.h>

int
main (void)
{
  for (;;)
    pause ();
}
