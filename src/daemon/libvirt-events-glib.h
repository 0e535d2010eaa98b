/* libvirt-events-glib.h: runs libvirt's event loop on the GLib main loop
 * (virEventRegisterImpl with GSources), so that the daemon keeps one thread. */
#pragma once

/* Registers the implementation; call once before opening a connection. */
void vnm_libvirt_events_register_glib (void);
