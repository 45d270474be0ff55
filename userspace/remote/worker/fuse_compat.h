/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuse_compat.h - the parts of the FUSE protocol newer than Debian 12's
 * <linux/fuse.h> (7.38): passthrough (7.40) and the INIT reply that carries
 * max_stack_depth.  Written from the protocol description; struct names are
 * our own so a newer system header does not clash.
 */
#ifndef MOSD_FUSE_COMPAT_H
#define MOSD_FUSE_COMPAT_H

#include <linux/fuse.h>
#include <linux/ioctl.h>
#include <stdint.h>

/* The protocol version mosfs speaks (passthrough arrived in 7.40). */
#define MOSFS_FUSE_MAJOR 7
#define MOSFS_FUSE_MINOR 40
/* The oldest kernel protocol mosfs accepts (fuse_init_in.flags2 exists). */
#define MOSFS_FUSE_MINOR_MIN 36

#ifndef FUSE_PASSTHROUGH
#define FUSE_PASSTHROUGH (1ULL << 37)
#endif
#ifndef FOPEN_PASSTHROUGH
#define FOPEN_PASSTHROUGH (1 << 7)
#endif

/* FUSE_INIT reply, 7.40 layout: max_stack_depth took the first unused word. */
struct mosfs_init_out {
	uint32_t major;
	uint32_t minor;
	uint32_t max_readahead;
	uint32_t flags;
	uint16_t max_background;
	uint16_t congestion_threshold;
	uint32_t max_write;
	uint32_t time_gran;
	uint16_t max_pages;
	uint16_t map_alignment;
	uint32_t flags2;
	uint32_t max_stack_depth;
	uint32_t unused[6];
};
_Static_assert(sizeof(struct mosfs_init_out) == 64, "fuse_init_out is 64 bytes");
_Static_assert(sizeof(struct mosfs_init_out) == sizeof(struct fuse_init_out),
	       "same size as the system's fuse_init_out");

/* FUSE_OPEN/OPENDIR/CREATE reply, 7.40 layout: the padding became backing_id. */
struct mosfs_open_out {
	uint64_t fh;
	uint32_t open_flags;
	int32_t backing_id;
};
_Static_assert(sizeof(struct mosfs_open_out) == sizeof(struct fuse_open_out),
	       "same size as the system's fuse_open_out");

/* FUSE_DEV_IOC_BACKING_OPEN argument: FD becomes a backing file, the ioctl
 * returns its id (> 0) for fuse_open_out.backing_id. */
struct mosfs_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};
_Static_assert(sizeof(struct mosfs_backing_map) == 16, "fuse_backing_map is 16 bytes");

#define MOSFS_DEV_IOC_MAGIC 229
#define MOSFS_DEV_IOC_BACKING_OPEN _IOW(MOSFS_DEV_IOC_MAGIC, 1, struct mosfs_backing_map)
#define MOSFS_DEV_IOC_BACKING_CLOSE _IOW(MOSFS_DEV_IOC_MAGIC, 2, uint32_t)

#endif /* MOSD_FUSE_COMPAT_H */
