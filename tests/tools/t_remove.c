/* SPDX-License-Identifier: GPL-2.0-or-later */
/* t_remove [--user NAME | --as-root] [--wait GO] [--hold-at K HOLD] [--deadline-ms N] [--stdin]
 *          ROOT [REL...]
 * Snapshot the identity (lstat) and file handle of each ROOT/REL and its parent,
 * optionally create GO.ready and wait (<= 20 s) for GO to exist (the test swaps things
 * meanwhile), then remove_batch() them and print "REL STATUS CHECK ERRNO-NAME" per item.
 * --hold-at: when the K-th answer arrives, create HOLD and wait (<= 20 s) until it is gone
 * (the remover goes on meanwhile until the pipe is full: the test signals it then).
 * --stdin reads the RELs one per line. stderr: "batch_ms=... abandoned=0|1". */
#include "remove.h"
#include "util.h"

#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <time.h>

struct hold {
	unsigned long at, seen;
	const char *path;
};

static void on_answer(size_t idx, const struct remove_result *r, void *userdata)
{
	struct hold *h = userdata;

	if (++h->seen != h->at)
		return;
	close(open(h->path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	for (int k = 0; k < 2000 && access(h->path, F_OK) == 0; k++)
		usleep(10000);
}

int main(int argc, char **argv)
{
	struct hold hold = {0};
	struct remove_creds c = { .as_root = false };
	const char *user = NULL, *go = NULL, *root;
	struct remove_item *items;
	struct remove_handle *handles;
	struct remove_dir *dirs = NULL;
	char **dir_paths = NULL;
	size_t n_dirs = 0;
	struct remove_result *res;
	struct remove_batch b;
	char **rels;
	size_t n = 0, cap = 16, i;
	uint64_t deadline_ms = 0, t0;
	gid_t groups[64];
	int ngroups = 64, a, root_fd, r;
	bool from_stdin = false;

	for (a = 1; a < argc && argv[a][0] == '-' && argv[a][1] == '-'; a++) {
		if (streq(argv[a], "--user") && a + 1 < argc)
			user = argv[++a];
		else if (streq(argv[a], "--as-root"))
			c.as_root = true;
		else if (streq(argv[a], "--wait") && a + 1 < argc)
			go = argv[++a];
		else if (streq(argv[a], "--hold-at") && a + 2 < argc) {
			hold.at = strtoul(argv[++a], NULL, 10);
			hold.path = argv[++a];
		} else if (streq(argv[a], "--deadline-ms") && a + 1 < argc)
			deadline_ms = strtoull(argv[++a], NULL, 10);
		else if (streq(argv[a], "--stdin"))
			from_stdin = true;
		else
			return fprintf(stderr, "bad option %s\n", argv[a]), 2;
	}
	if (a >= argc || (!user && !c.as_root))
		return fprintf(stderr, "usage: t_remove --user NAME|--as-root ... ROOT REL...\n"), 2;
	root = argv[a++];
	if (user) {
		struct passwd *pw = getpwnam(user);

		if (!pw)
			return fprintf(stderr, "no user %s\n", user), 1;
		c.uid = pw->pw_uid;
		c.gid = pw->pw_gid;
		if (getgrouplist(user, pw->pw_gid, groups, &ngroups) < 0)
			return fprintf(stderr, "too many groups\n"), 1;
		c.groups = groups;
		c.ngroups = (size_t)ngroups;
	}
	rels = malloc(cap * sizeof(*rels));
	for (;;) {
		char *rel = NULL;

		if (from_stdin) {
			size_t sz = 0;
			ssize_t l = getline(&rel, &sz, stdin);

			if (l <= 0) {
				free(rel);
				break;
			}
			if (rel[l - 1] == '\n')
				rel[l - 1] = '\0';
		} else {
			if (a >= argc)
				break;
			rel = strdup(argv[a++]);
		}
		if (n == cap)
			rels = realloc(rels, (cap *= 2) * sizeof(*rels));
		rels[n++] = rel;
	}
	items = calloc(n ? n : 1, sizeof(*items));
	handles = calloc(n ? n : 1, sizeof(*handles));
	res = calloc(n ? n : 1, sizeof(*res));
	for (i = 0; i < n; i++) {
		char *tmp1 = strdup(rels[i]), *tmp2 = strdup(rels[i]), *walk, *comp, *save;
		char *parent = strdup(dirname(tmp1));
		struct statx st, pst;
		size_t up = REMOVE_ROOT;
		int pfd;

		items[i].name = strdup(basename(tmp2));
		free(tmp1);
		/* The parent table: one entry per directory prefix (a linear search: tests). */
		walk = strdup(parent);
		for (comp = strtok_r(walk, "/", &save); comp && !streq(parent, ".");
		     comp = strtok_r(NULL, "/", &save)) {
			size_t len = (size_t)(comp - walk) + strlen(comp), d;

			for (d = 0; d < n_dirs; d++)
				if (strlen(dir_paths[d]) == len && !strncmp(dir_paths[d], parent, len))
					break;
			if (d == n_dirs) {
				dirs = realloc(dirs, (n_dirs + 1) * sizeof(*dirs));
				dir_paths = realloc(dir_paths, (n_dirs + 1) * sizeof(*dir_paths));
				dirs[n_dirs] = (struct remove_dir){.up = up, .name = strdup(comp)};
				dir_paths[n_dirs++] = strndup(parent, len);
			}
			up = d;
		}
		free(walk);
		items[i].parent = up;
		free(tmp2);
		/* Component by component, so paths past PATH_MAX work too. */
		pfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		walk = parent;
		for (comp = strtok_r(walk, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
			int nfd = openat(pfd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (nfd < 0)
				return perror(comp), 1;
			close(pfd);
			pfd = nfd;
		}
		free(walk);
		if (statx(pfd, "", AT_EMPTY_PATH, STATX_ALL, &pst) < 0 ||
		    statx(pfd, items[i].name, AT_SYMLINK_NOFOLLOW, STATX_ALL, &st) < 0)
			return perror(rels[i]), 1;
		if (remove_handle_get(pfd, items[i].name, makedev(st.stx_dev_major, st.stx_dev_minor),
				      st.stx_ino, &handles[i]) == 0)
			items[i].handle = &handles[i];
		close(pfd);
		items[i].dev = makedev(st.stx_dev_major, st.stx_dev_minor);
		items[i].ino = st.stx_ino;
		items[i].type = st.stx_mode & S_IFMT;
		items[i].uid = st.stx_uid;
		items[i].btime_ns = (uint64_t)st.stx_btime.tv_sec * NSEC_PER_SEC +
				    st.stx_btime.tv_nsec;
		items[i].parent_dev = makedev(pst.stx_dev_major, pst.stx_dev_minor);
		items[i].parent_ino = pst.stx_ino;
	}
	root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return perror(root), 1;
	if (go) {
		char ready[4096];
		int k;

		snprintf(ready, sizeof(ready), "%s.ready", go);
		close(open(ready, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
		for (k = 0; k < 2000 && access(go, F_OK) < 0; k++)
			usleep(10000);
	}
	t0 = now_ns(CLOCK_MONOTONIC);
	b = (struct remove_batch){
		.root_fd = root_fd, .dirs = dirs, .n_dirs = n_dirs, .items = items, .n = n,
		.creds = &c, .deadline_ns = deadline_ms ? t0 + deadline_ms * NSEC_PER_MSEC : 0,
		.on_result = hold.at ? on_answer : NULL, .userdata = &hold,
	};
	r = remove_batch(&b, res);
	fprintf(stderr, "batch_ms=%.3f removed=%d n=%zu abandoned=%d\n", (now_ns(CLOCK_MONOTONIC) - t0) / 1e6,
		r, n, b.abandoned);
	for (i = 0; i < n; i++)
		printf("%s %s %s %s\n", rels[i], remove_status_str(res[i].status),
		       remove_check_str(res[i].check), res[i].err ? strerrorname_np(res[i].err) : "0");
	for (i = 0; i < n; i++) {
		free(rels[i]);
		free((char *)items[i].name);
	}
	for (i = 0; i < n_dirs; i++) {
		free((char *)dirs[i].name);
		free(dir_paths[i]);
	}
	free(dirs);
	free(dir_paths);
	free(handles);
	free(rels);
	free(items);
	free(res);
	close(root_fd);
	return r < 0 ? 1 : 0;
}
