/* bpf-pin.h: BPF maps pinned in bpffs as one set, so that they outlive the
 * daemon: the pin directory (taken by one virtnetmond at a time), adopting an
 * earlier run's set when every map still fits, pinning this run's otherwise.
 * The flow probe's maps are such a set. */
#pragma once

#include <glib.h>

struct bpf_map;

typedef struct _VnmBpfPinSet VnmBpfPinSet;

/* Takes @dir (made when missing, locked against another virtnetmond) for the
 * maps named @names (@n of them, each pinned as @dir/NAME). When @dir's
 * parent is /sys/fs/bpf and no BPF filesystem is mounted there, mounts one
 * (as iproute2 and bpftool do) and says so. NULL with *@why, a sentence
 * fragment for the status, when it cannot: no BPF filesystem at @dir's
 * parent (nor could one be mounted), @dir cannot be made, or another daemon
 * holds it. */
VnmBpfPinSet *vnm_bpf_pin_set_new (const gchar *dir, const gchar *const *names, guint n,
                                   gchar **why);

/* Before the object is loaded: makes @maps (in the order of the names) use
 * the maps an earlier run pinned, when all of them are there and have this
 * run's shape; TRUE then. Otherwise removes what part of a set it found and
 * returns FALSE, with *@why (may be NULL) saying why when there was an
 * earlier set that did not fit (NULL when there was none). */
gboolean vnm_bpf_pin_set_adopt (VnmBpfPinSet *set, struct bpf_map **maps, const gchar **why);

/* After loading: pins @maps. On failure removes what it pinned and says why. */
gboolean vnm_bpf_pin_set_pin (VnmBpfPinSet *set, struct bpf_map **maps, GError **error);

/* Removes the pins (the directory and its lock stay until freed). */
void vnm_bpf_pin_set_unlink (VnmBpfPinSet *set);

const gchar *vnm_bpf_pin_set_dir (VnmBpfPinSet *set);
/* Where this run mounted a BPF filesystem, or NULL. */
const gchar *vnm_bpf_pin_set_mounted (VnmBpfPinSet *set);

/* Releases the directory's lock; the pins stay. */
void vnm_bpf_pin_set_free (VnmBpfPinSet *set);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmBpfPinSet, vnm_bpf_pin_set_free)

/* An fd of the map pinned at @path when it has @map's shape (type, key and
 * value size, entries), or -1. A pin of another shape is removed and
 * *@mismatch set TRUE (@mismatch may be NULL). */
int vnm_bpf_open_compatible_pin (struct bpf_map *map, const gchar *path, gboolean *mismatch);
