// SPDX-License-Identifier: MIT
//
// toy-socket: why EFD_VPOLL exists.
//
// A toy user-level "socket" library (my_socket, my_connect, my_send, my_recv,
// my_close) implements its sockets entirely in user space, yet its
// descriptors sit in an ordinary, unmodified poll() loop next to a real pipe.
// An out-of-band message raises POLLPRI, as TCP urgent data does: something a
// pipe or an eventfd counter cannot express.  With EFD_VPOLL (the patched
// kernel) the descriptors are native; elsewhere the wrapper emulates them.
//
// Bounded and non-interactive: exits 0 when the loop saw everything it
// expected, 1 otherwise (or after a 10 s timeout).

#include <eventfd-vpoll/eventfd_vpoll.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace toy {

using vpoll::event;

// One endpoint: its descriptor and its queues.
struct endpoint {
	vpoll::eventfd_vpoll ev;
	std::deque<std::string> data;
	std::string oob;
	int peer = -1;
	bool peer_closed = false;
};

std::mutex lock;
std::map<int, endpoint> table; // keyed by the descriptor the user sees

// A new, unconnected socket: writable, nothing to read.
int my_socket()
{
	vpoll::eventfd_vpoll ev(vpoll::writable, EFD_CLOEXEC);
	int fd = ev.fd();
	std::lock_guard<std::mutex> g(lock);
	table[fd].ev = std::move(ev);
	return fd;
}

int my_connect(int a, int b)
{
	std::lock_guard<std::mutex> g(lock);
	table.at(a).peer = b;
	table.at(b).peer = a;
	return 0;
}

ssize_t my_send(int fd, const void *buf, size_t len, int flags)
{
	std::lock_guard<std::mutex> g(lock);
	endpoint &peer = table.at(table.at(fd).peer);
	std::string msg(static_cast<const char *>(buf), len);
	if (flags & MSG_OOB) {
		peer.oob = msg;
		peer.ev.add(event::pri | vpoll::readable); // as urgent data on TCP
	} else {
		peer.data.push_back(msg);
		peer.ev.add(vpoll::readable);
	}
	return static_cast<ssize_t>(len);
}

// 0 at end of stream; -1/EAGAIN when there is nothing yet.
ssize_t my_recv(int fd, void *buf, size_t len, int flags)
{
	std::lock_guard<std::mutex> g(lock);
	endpoint &e = table.at(fd);
	std::string msg;
	if (flags & MSG_OOB) {
		if (e.oob.empty()) {
			errno = EINVAL;
			return -1;
		}
		msg.swap(e.oob);
		e.ev.del(event::pri);
	} else if (!e.data.empty()) {
		msg = e.data.front();
		e.data.pop_front();
	} else if (e.peer_closed) {
		return 0;
	} else {
		errno = EAGAIN;
		return -1;
	}
	if (e.data.empty() && e.oob.empty() && !e.peer_closed)
		e.ev.del(vpoll::readable);
	size_t n = msg.size() < len ? msg.size() : len;
	std::memcpy(buf, msg.data(), n);
	return static_cast<ssize_t>(n);
}

int my_close(int fd)
{
	std::lock_guard<std::mutex> g(lock);
	auto it = table.find(fd);
	if (it == table.end())
		return -1;
	auto peer = table.find(it->second.peer);
	if (peer != table.end()) {
		peer->second.peer_closed = true;
		peer->second.ev.add(event::hup | event::rdhup | vpoll::readable);
	}
	table.erase(it); // closes the descriptor
	return 0;
}

bool native(int fd)
{
	std::lock_guard<std::mutex> g(lock);
	return table.at(fd).ev.native();
}

} // namespace toy

int main()
{
	using namespace std::chrono_literals;
	int pipefd[2];
	if (::pipe(pipefd) < 0)
		return 1;
	const int a = toy::my_socket(), b = toy::my_socket();
	toy::my_connect(a, b);
	std::printf("toy sockets %d and %d (%s backend), pipe %d\n", a, b,
		    toy::native(a) ? "native EFD_VPOLL" : "emulated", pipefd[0]);

	std::thread peer([&] {
		std::this_thread::sleep_for(20ms);
		ssize_t w = ::write(pipefd[1], "pipe data", 9);
		(void)w;
		std::this_thread::sleep_for(20ms);
		toy::my_send(b, "hello", 5, 0);
		std::this_thread::sleep_for(20ms);
		toy::my_send(b, "!", 1, MSG_OOB);
		std::this_thread::sleep_for(20ms);
		toy::my_send(b, "bye", 3, 0);
		::close(pipefd[1]);
		toy::my_close(b);
	});

	// The application's poll loop, as it would be with real sockets.
	struct pollfd fds[2] = {{pipefd[0], POLLIN, 0}, {a, POLLIN | POLLPRI, 0}};
	std::string got_pipe, got_sock, got_oob;
	bool pipe_eof = false, sock_eof = false;
	const auto deadline = std::chrono::steady_clock::now() + 10s;
	while ((!pipe_eof || !sock_eof) && std::chrono::steady_clock::now() < deadline) {
		int n = ::poll(fds, 2, 1000);
		if (n < 0)
			return 1;
		char buf[64];
		if (fds[0].revents & (POLLIN | POLLHUP)) {
			ssize_t r = ::read(pipefd[0], buf, sizeof(buf));
			if (r > 0) {
				got_pipe.append(buf, static_cast<size_t>(r));
				std::printf("pipe:   POLLIN  -> read \"%.*s\"\n", static_cast<int>(r), buf);
			} else {
				pipe_eof = true;
				fds[0].fd = -1;
				std::printf("pipe:   end of file\n");
			}
		}
		if (fds[1].revents & POLLPRI) {
			ssize_t r = toy::my_recv(a, buf, sizeof(buf), MSG_OOB);
			if (r > 0) {
				got_oob.append(buf, static_cast<size_t>(r));
				std::printf("socket: POLLPRI -> urgent \"%.*s\"\n", static_cast<int>(r), buf);
			}
		} else if (fds[1].revents & (POLLIN | POLLHUP)) {
			ssize_t r = toy::my_recv(a, buf, sizeof(buf), 0);
			if (r > 0) {
				got_sock.append(buf, static_cast<size_t>(r));
				std::printf("socket: POLLIN  -> my_recv \"%.*s\"\n", static_cast<int>(r), buf);
			} else if (r == 0) {
				sock_eof = true;
				fds[1].fd = -1;
				std::printf("socket: POLLHUP -> peer closed\n");
			}
		}
	}
	peer.join();
	toy::my_close(a);
	::close(pipefd[0]);
	const bool ok = got_pipe == "pipe data" && got_sock == "hellobye" && got_oob == "!" &&
			pipe_eof && sock_eof;
	std::printf("%s\n", ok ? "toy-socket: OK" : "toy-socket: FAILED");
	return ok ? 0 : 1;
}
