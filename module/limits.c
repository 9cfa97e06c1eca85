// SPDX-License-Identifier: GPL-2.0
/*
 * cowmem: per-user limits on what one user may make: regions, snapshots
 * and views. A mapping outlives its file descriptor, so RLIMIT_NOFILE does
 * not bound them, and on a workshop machine every attendee shares the
 * module. Each is counted against the real uid of the process that made
 * it (as RLIMIT_NPROC counts processes), and refused with EDQUOT beyond
 * its module parameter (0: no limit). CAP_SYS_RESOURCE lifts them, as it
 * lifts rlimits. A fork's clones are counted but never refused: fork()
 * cannot fail from a VMA's ->open, and the processes it makes are bounded
 * by RLIMIT_NPROC already.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "internal.h"

static unsigned int cowmem_limits[COWMEM_NR_LIMITS] = {
	[COWMEM_LIMIT_REGIONS] = 4096,
	[COWMEM_LIMIT_SNAPSHOTS] = 4096,
	[COWMEM_LIMIT_VIEWS] = 16384,
};
module_param_named(max_regions_per_user, cowmem_limits[COWMEM_LIMIT_REGIONS],
		   uint, 0644);
MODULE_PARM_DESC(max_regions_per_user,
		 "Open files one user may have (default 4096, 0: any)");
module_param_named(max_snapshots_per_user,
		   cowmem_limits[COWMEM_LIMIT_SNAPSHOTS], uint, 0644);
MODULE_PARM_DESC(max_snapshots_per_user,
		 "Snapshots one user may have (default 4096, 0: any)");
module_param_named(max_views_per_user, cowmem_limits[COWMEM_LIMIT_VIEWS], uint,
		   0644);
MODULE_PARM_DESC(max_views_per_user,
		 "Views one user may have (default 16384, 0: any)");

/* What one user has made; freed when it has nothing left. */
struct cowmem_user {
	unsigned int count[COWMEM_NR_LIMITS];
};

static DEFINE_MUTEX(cowmem_users_lock); /* a leaf: nothing is taken under it */
static DEFINE_XARRAY(cowmem_users); /* uid -> user; protected by the lock */

static bool cowmem_user_empty(struct cowmem_user *user)
{
	unsigned int i;

	for (i = 0; i < COWMEM_NR_LIMITS; i++)
		if (user->count[i])
			return false;
	return true;
}

/* The user's counts, made if need be. Called with cowmem_users_lock held. */
static struct cowmem_user *cowmem_user_get(unsigned long uid)
{
	struct cowmem_user *user = xa_load(&cowmem_users, uid);

	lockdep_assert_held(&cowmem_users_lock);
	if (user)
		return user;
	user = kzalloc(sizeof(*user), GFP_KERNEL_ACCOUNT);
	if (!user)
		return NULL;
	if (xa_err(xa_store(&cowmem_users, uid, user, GFP_KERNEL_ACCOUNT))) {
		kfree(user);
		return NULL;
	}
	return user;
}

static void cowmem_user_put(unsigned long uid, struct cowmem_user *user)
{
	lockdep_assert_held(&cowmem_users_lock);
	if (cowmem_user_empty(user)) {
		xa_erase(&cowmem_users, uid);
		kfree(user);
	}
}

/*
 * Counts one more @what for the user of @cred: 0, -EDQUOT beyond the
 * limit (unless @force, or current has CAP_SYS_RESOURCE), or -ENOMEM.
 */
int cowmem_limit_charge(const struct cred *cred, enum cowmem_limit what,
			bool force)
{
	unsigned int max = READ_ONCE(cowmem_limits[what]);
	unsigned long uid = __kuid_val(cred->uid);
	struct cowmem_user *user;
	int err = 0;

	mutex_lock(&cowmem_users_lock);
	user = cowmem_user_get(uid);
	if (!user) {
		err = -ENOMEM;
	} else if (!force && max && user->count[what] >= max &&
		   !capable(CAP_SYS_RESOURCE)) {
		err = -EDQUOT;
		cowmem_user_put(uid, user);
	} else {
		user->count[what]++;
	}
	mutex_unlock(&cowmem_users_lock);
	return err;
}

void cowmem_limit_uncharge(const struct cred *cred, enum cowmem_limit what)
{
	unsigned long uid = __kuid_val(cred->uid);
	struct cowmem_user *user;

	mutex_lock(&cowmem_users_lock);
	user = xa_load(&cowmem_users, uid);
	if (!WARN_ON_ONCE(!user || !user->count[what])) {
		user->count[what]--;
		cowmem_user_put(uid, user);
	}
	mutex_unlock(&cowmem_users_lock);
}
