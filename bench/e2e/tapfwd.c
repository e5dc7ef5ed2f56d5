/*
 * tapfwd: the floor under any TAP switch. Two TAPs, one thread per direction, read() from one and write() the
 * same bytes to the other: no learning, no lookup, nothing to decide. With --vnet both TAPs carry virtio-net
 * headers with checksum and TSO offloads, so 64 KiB frames pass whole (the header goes through unchanged).
 *
 *   tapfwd [--vnet] TAP1 TAP2
 *
 * Creates (or attaches) the TAPs in its own network namespace and brings them up; prints "ready" once both are
 * open. SIGTERM or SIGINT ends it and it prints each direction's frame count.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFFER_BYTES (256 * 1024) /* a 64 KiB GSO frame and its header, with room to spare */

struct direction {
	int from, to;
	atomic_ulong frames;
};

static int open_tap(const char *name, int vnet)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "tapfwd: open /dev/net/tun: %s\n", strerror(errno));
		exit(1);
	}
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "tapfwd: TUNSETIFF %s: %s\n", name, strerror(errno));
		exit(1);
	}
	if (vnet) {
		int header = 12; /* struct virtio_net_hdr_mrg_rxbuf */
		unsigned long offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
		if (ioctl(fd, TUNSETVNETHDRSZ, &header) < 0 || ioctl(fd, TUNSETOFFLOAD, offloads) < 0) {
			fprintf(stderr, "tapfwd: offloads on %s: %s\n", name, strerror(errno));
			exit(1);
		}
	}
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (sock < 0 || ioctl(sock, SIOCGIFFLAGS, &ifr) < 0 || (ifr.ifr_flags |= IFF_UP, ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)) {
		fprintf(stderr, "tapfwd: bring %s up: %s\n", name, strerror(errno));
		exit(1);
	}
	close(sock);
	return fd;
}

static void *forward(void *arg)
{
	struct direction *d = arg;
	char *buffer = malloc(BUFFER_BYTES);
	for (;;) {
		ssize_t n = read(d->from, buffer, BUFFER_BYTES);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		if (write(d->to, buffer, (size_t)n) == n)
			atomic_fetch_add(&d->frames, 1);
	}
}

int main(int argc, char **argv)
{
	int vnet = argc > 1 && strcmp(argv[1], "--vnet") == 0;
	if (argc != 3 + vnet) {
		fprintf(stderr, "usage: tapfwd [--vnet] TAP1 TAP2\n");
		return 2;
	}
	int a = open_tap(argv[1 + vnet], vnet), b = open_tap(argv[2 + vnet], vnet);
	static struct direction ab, ba;
	ab.from = a, ab.to = b, ba.from = b, ba.to = a;

	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL); /* the forwarding threads inherit the mask */
	pthread_t t1, t2;
	pthread_create(&t1, NULL, forward, &ab);
	pthread_create(&t2, NULL, forward, &ba);
	printf("ready\n");
	fflush(stdout);

	int signal;
	sigwait(&stop, &signal);
	fprintf(stderr, "tapfwd: %lu frames %s->%s, %lu frames %s->%s\n", atomic_load(&ab.frames), argv[1 + vnet], argv[2 + vnet],
		atomic_load(&ba.frames), argv[2 + vnet], argv[1 + vnet]);
	return 0;
}
