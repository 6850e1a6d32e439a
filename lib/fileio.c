/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "fileio.h"
#include "util.h"

#include <assert.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <inttypes.h>

int open_read_at(int dirfd, const char *path)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);

	assert(dirfd >= 0 || dirfd == AT_FDCWD);
	assert(path);

	return fd < 0 ? negative_errno() : fd;
}

ssize_t read_retry(int fd, void *buf, size_t n)
{
	ssize_t k;

	assert(fd >= 0);
	assert(buf);

	do
		k = read(fd, buf, n);
	while (k < 0 && errno == EINTR);
	return k < 0 ? negative_errno() : k;
}

ssize_t read_small_file_at(int dirfd, const char *path, size_t max, char **ret)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	assert(dirfd >= 0 || dirfd == AT_FDCWD);
	assert(path);
	assert(ret);

	if (max < 2)
		return -EINVAL;
	fd = open_read_at(dirfd, path);
	if (fd < 0)
		return fd;
	buf = malloc(max);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read_retry(fd, buf + len, max - 1 - len);
		if (n < 0)
			return n;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == max - 1) {
			char c;
			if (read(fd, &c, 1) > 0)
				return -EFBIG;
			break;
		}
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	return (ssize_t)len;
}

ssize_t read_oneshot_file_at(int dirfd, const char *path, size_t max, char **ret)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *big = NULL;
	char small[1024], *buf = small;
	size_t size = sizeof(small);
	ssize_t n;

	assert(dirfd >= 0 || dirfd == AT_FDCWD);
	assert(path);
	assert(ret);

	if (max < 2)
		return -EINVAL;
	/* Into a small stack buffer first, and copied out to the bytes read: what is read
	 * this way is small, and a big heap buffer touches pages for nothing. */
	for (;;) {
		if (size > max)
			size = max;
		fd = open_read_at(dirfd, path);
		if (fd < 0)
			return fd;
		n = read_retry(fd, buf, size);
		if (n < 0)
			return n;
		if ((size_t)n < size)
			break;
		if (size == max)
			return -EFBIG; /* maybe more: not what this reader is for */
		/* Did not fit: once more from the start with all of max. */
		fd = safe_close(fd);
		size = max;
		buf = big = malloc(size);
		if (!big)
			return -ENOMEM;
	}
	if (buf == small) {
		if (!(big = malloc((size_t)n + 1)))
			return -ENOMEM;
		memcpy(big, small, (size_t)n);
	}
	big[n] = '\0';
	*ret = TAKE_PTR(big);
	return n;
}

ssize_t read_regular_fd(int fd, const struct stat *st, size_t max, char **ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap;

	assert(fd >= 0);
	assert(ret);

	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	if ((uint64_t)st->st_size > max)
		return -EFBIG;
	cap = (size_t)st->st_size + 1; /* one more: a file that grew is seen to */
	buf = malloc(cap + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read_retry(fd, buf + len, cap - len);

		if (n < 0)
			return n;
		if (n == 0)
			break;
		len += (size_t)n;
		/* Short of what was asked, at the size fstat gave: the end, with no read
		 * for the EOF. Grown meanwhile: read on, within max. */
		if (len < cap && len == (size_t)st->st_size)
			break;
		if (len == cap) {
			char *nb;

			if (cap > max)
				return -EFBIG;
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			nb = realloc(buf, cap + 1);
			if (!nb)
				return -ENOMEM;
			buf = nb;
		}
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	return (ssize_t)len;
}

int parse_u64(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

int read_u64_at(int dirfd, const char *path, uint64_t *ret)
{
	_cleanup_free_ char *buf = NULL;
	ssize_t n = read_small_file_at(dirfd, path, 64, &buf);
	char *nl;

	assert(dirfd >= 0 || dirfd == AT_FDCWD);
	assert(path);
	assert(ret);

	if (n < 0)
		return (int)n;
	nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	if (streq(buf, "max")) {
		*ret = UINT64_MAX;
		return 0;
	}
	return parse_u64(buf, ret);
}

int stat_lookup_u64(const char *buf, const char *key, uint64_t *ret)
{
	const char *p = buf, *v_at;

	assert(key);
	assert(ret);

	while (p && *p) {
		if ((v_at = startswith(p, key)) && v_at[0] == ' ') {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(v_at + 1, &end, 10);
			if (errno || (*end != '\n' && *end != '\0'))
				return -EINVAL;
			*ret = v;
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -ENOENT;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	assert(fd >= 0);
	assert(buf || !len);

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
