/* eng_memfd NAME MIB: create a memfd, fill MIB MiB, print "ready", then sleep holding it
 * until killed. For explain tests: shmem held by a process and reachable by no path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static char buf[1 << 16];
	long mib;
	int fd;

	if (argc != 3)
		return 2;
	mib = atol(argv[2]);
	fd = memfd_create(argv[1], MFD_CLOEXEC);
	if (fd < 0)
		return perror("memfd_create"), 1;
	memset(buf, 0x5a, sizeof(buf));
	for (long i = 0; i < mib * 16; i++)
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			return perror("write"), 1;
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
