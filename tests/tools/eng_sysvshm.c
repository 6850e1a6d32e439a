/* eng_sysvshm MIB: create a private SysV segment of MIB MiB, touch every page, detach and
 * exit, leaving the segment (and its charge) behind. Prints the shmid. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

int main(int argc, char **argv)
{
	size_t len;
	char *p;
	int id;

	if (argc != 2)
		return 2;
	len = (size_t)atol(argv[1]) << 20;
	id = shmget(IPC_PRIVATE, len, IPC_CREAT | 0600);
	if (id < 0)
		return perror("shmget"), 1;
	p = shmat(id, NULL, 0);
	if (p == (void *)-1)
		return perror("shmat"), 1;
	memset(p, 0x5a, len);
	shmdt(p);
	printf("%d\n", id);
	return 0;
}
