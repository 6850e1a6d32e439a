/* eng_anonshm MIB [SHMID]: map MIB MiB of anonymous shared memory (MAP_SHARED|MAP_ANONYMOUS,
 * what PostgreSQL's main shared memory is: "/dev/zero (deleted)" in maps), fill it, attach
 * the SysV segment SHMID (if given) and keep it attached, print "ready", then sleep until
 * killed. For explain tests: how each is named. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t len;
	char *p;

	if (argc != 2 && argc != 3)
		return 2;
	len = (size_t)atol(argv[1]) << 20;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return perror("mmap"), 1;
	memset(p, 0x5a, len);
	if (argc == 3 && shmat(atoi(argv[2]), NULL, SHM_RDONLY) == (void *)-1)
		return perror("shmat"), 1;
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
