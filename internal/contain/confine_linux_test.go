package contain_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/clawd-go/clawd/internal/child"
	"github.com/clawd-go/clawd/internal/contain"
)

// confineChild runs the child actions of the tests in this file.
func confineChild(verb, arg string) (result, bool) {
	var res result
	switch verb {
	case "sockets": // ARG: "udpport tcpport unixpath"
		res.Errnos = socketProbes(strings.Fields(arg))
	case "fds": // "N -> target" for every open descriptor but the listing's own
		res.Lines = openFDs()
	case "env":
		res.Lines = os.Environ()
	case "status": // the lines of /proc/self/status named in ARG (comma-separated)
		b, err := os.ReadFile("/proc/self/status")
		res.Errno = errnoOf(err)
		want := strings.Split(arg, ",")
		for line := range strings.Lines(string(b)) {
			if name, _, ok := strings.Cut(line, ":"); ok && slices.Contains(want, name) {
				res.Lines = append(res.Lines, strings.Join(strings.Fields(line), " "))
			}
		}
	case "syscalls": // the denied system calls, then allowed ones: their errnos
		res = syscallsChild()
	case "keyring": // search the session keyring for the host's key
		res = keyringChild()
	case "threads-seccomp": // execveat from several threads; every task's seccomp mode
		res = threadsChild()
	case "timed": // ARG getpid and personality calls, timed
		n, _ := strconv.Atoi(arg)
		res = timedChild(n)
	case "netdev": // the interfaces of the child's network namespace
		b, err := os.ReadFile("/proc/self/net/dev")
		res.Errno = errnoOf(err)
		for line := range strings.Lines(string(b)) {
			if name, _, ok := strings.Cut(line, ":"); ok && !strings.Contains(name, "|") {
				res.Lines = append(res.Lines, strings.TrimSpace(name))
			}
		}
	case "sysv": // ARG: "KEY ID", the host's shared memory segment
		res = sysvChild(arg)
	case "home": // write a file in $HOME, then read ARG
		res.Lines = []string{os.Getenv("HOME")}
		res.Errnos = []int{errnoOf(os.WriteFile(filepath.Join(os.Getenv("HOME"), "note"), []byte("x"), 0o600))}
		_, err := os.ReadFile(arg)
		res.Errnos = append(res.Errnos, errnoOf(err))
	default:
		return result{}, false
	}
	return res, true
}

// The socket probes, in the order socketProbes returns their errnos.
var socketProbeNames = []string{
	"udp sendto", "raw icmp", "packet", "netlink route", "unix connect", "tcp connect",
	"socketpair unix", "socketpair inet", "x32 socket", "io_uring_setup",
}

func socketProbes(args []string) []int {
	udpPort, _ := strconv.Atoi(args[0])
	tcpPort, _ := strconv.Atoi(args[1])
	lo := [4]byte{127, 0, 0, 1}
	try := func(domain, typ, proto int, use func(fd int) error) int {
		fd, err := unix.Socket(domain, typ|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return errnoOf(err)
		}
		defer unix.Close(fd)
		if use == nil {
			return 0
		}
		return errnoOf(use(fd))
	}
	pair := func(domain int) int {
		fds, err := unix.Socketpair(domain, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err == nil {
			unix.Close(fds[0])
			unix.Close(fds[1])
		}
		return errnoOf(err)
	}
	out := []int{
		try(unix.AF_INET, unix.SOCK_DGRAM, 0, func(fd int) error {
			return unix.Sendto(fd, []byte("leak"), 0, &unix.SockaddrInet4{Port: udpPort, Addr: lo})
		}),
		try(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP, nil),
		try(unix.AF_PACKET, unix.SOCK_RAW, int(htons(unix.ETH_P_ALL)), nil),
		try(unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_ROUTE, func(fd int) error {
			return unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		}),
		try(unix.AF_UNIX, unix.SOCK_STREAM, 0, func(fd int) error {
			return unix.Connect(fd, &unix.SockaddrUnix{Name: args[2]})
		}),
		try(unix.AF_INET, unix.SOCK_STREAM, 0, func(fd int) error {
			return unix.Connect(fd, &unix.SockaddrInet4{Port: tcpPort, Addr: lo})
		}),
		pair(unix.AF_UNIX),
		pair(unix.AF_INET),
	}
	// socket(2) by its x32 number: the same arch value, another table.
	_, _, e := unix.RawSyscall(unix.SYS_SOCKET|0x40000000, unix.AF_INET, unix.SOCK_DGRAM, 0)
	out = append(out, int(e))
	_, _, e = unix.RawSyscall(unix.SYS_IO_URING_SETUP, 1, 0, 0)
	return append(out, int(e))
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func openFDs() []string {
	// Raw calls: an os.File would start the netpoller, whose descriptors
	// would then be listed too.
	fd, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return []string{"error: " + err.Error()}
	}
	defer unix.Close(fd)
	var names []string
	buf := make([]byte, 8192)
	for {
		n, err := unix.ReadDirent(fd, buf)
		if err != nil {
			return []string{"error: " + err.Error()}
		}
		if n == 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	self := strconv.Itoa(fd)
	var out []string
	for _, n := range names {
		if n == self {
			continue
		}
		target, _ := os.Readlink("/proc/self/fd/" + n)
		out = append(out, n+" -> "+target)
	}
	slices.SortFunc(out, func(a, b string) int {
		x, _ := strconv.Atoi(strings.Fields(a)[0])
		y, _ := strconv.Atoi(strings.Fields(b)[0])
		return x - y
	})
	return out
}

// socketPolicy is the sandbox's policy with DenySockets on or off.
func socketPolicy(t *testing.T, deny bool) contain.Policy {
	p := fullPolicy(t.TempDir(), t.TempDir())
	p.DenyTCP = false // Landlock's TCP rule would hide what the filter does
	p.DenySockets = deny
	return p
}

// listeners are the targets a probing child aims at: a UDP and a TCP port
// on 127.0.0.1 and a named unix socket.
func listeners(t *testing.T) string {
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { udp.Close() })
	tcp, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { tcp.Close() })
	path := filepath.Join(t.TempDir(), "host.sock")
	ux, err := net.Listen("unix", path)
	require.NoError(t, err)
	t.Cleanup(func() { ux.Close() })
	return fmt.Sprintf("%d %d %s", udp.LocalAddr().(*net.UDPAddr).Port, tcp.Addr().(*net.TCPAddr).Port, path)
}

func TestSocketsDenied(t *testing.T) {
	res := runConfined(t, socketPolicy(t, true), "sockets "+listeners(t))
	eacces, eperm, enosys := int(unix.EACCES), int(unix.EPERM), int(unix.ENOSYS)
	want := []int{eacces, eacces, eacces, eacces, eacces, eacces, 0, eacces, eperm, enosys}
	for i, name := range socketProbeNames {
		require.Equal(t, want[i], res.Errnos[i], "%s: errno %v", name, unix.Errno(res.Errnos[i]))
	}
	rep := runConfined(t, socketPolicy(t, true), "report").Report
	require.True(t, rep.Sockets)
	require.True(t, rep.NetNS, "the host runs as root here")
	require.Contains(t, rep.String(), "no sockets (seccomp), netns, ipcns")
}

// TestSocketsAllowed is the counter-proof: without DenySockets the same
// child reaches the host's UDP, TCP and unix listeners (Landlock alone
// stops none of them here).
func TestSocketsAllowed(t *testing.T) {
	res := runConfined(t, socketPolicy(t, false), "sockets "+listeners(t))
	require.Equal(t, 0, res.Errnos[0], "udp sendto")
	// Raw and packet sockets need CAP_NET_RAW, which the child no longer has.
	require.Equal(t, int(unix.EPERM), res.Errnos[1], "raw icmp")
	require.Equal(t, int(unix.EPERM), res.Errnos[2], "packet")
	require.Equal(t, 0, res.Errnos[3], "netlink route")
	require.Equal(t, 0, res.Errnos[4], "unix connect")
	require.Equal(t, 0, res.Errnos[5], "tcp connect")
	require.Equal(t, 0, res.Errnos[6], "socketpair unix")
	require.Equal(t, int(unix.EOPNOTSUPP), res.Errnos[7], "socketpair inet: the kernel's own answer")
	require.NotEqual(t, int(unix.ENOSYS), res.Errnos[9], "io_uring_setup reaches the kernel")
}

func TestNetNSEmpty(t *testing.T) {
	res := runConfined(t, socketPolicy(t, true), "netdev")
	require.Zero(t, res.Errno)
	require.Equal(t, []string{"lo"}, res.Lines)
	host := runConfined(t, socketPolicy(t, false), "netdev")
	require.Contains(t, host.Lines, "lo")
}

func TestSocketFilterProgram(t *testing.T) {
	prog, err := contain.SocketFilter()
	require.NoError(t, err)
	require.NotEmpty(t, prog)
	require.Equal(t, uint16(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS), prog[0].Code)
	require.Equal(t, uint32(4), prog[0].K, "the arch is checked first")
	for i, in := range prog {
		if in.Code&0x07 == unix.BPF_JMP {
			require.Less(t, i+1+int(max(in.Jt, in.Jf)), len(prog), "jump %d stays inside", i)
		}
	}
	last := prog[len(prog)-1]
	require.Equal(t, uint16(unix.BPF_RET|unix.BPF_K), last.Code)
}

// TestLeakedFDClosed: a descriptor the host opened without O_CLOEXEC (as a
// native plugin in the host may) is inherited by the fork, and closed
// before the second image runs; ExtraFiles and KeepFDs stay.
func TestLeakedFDClosed(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "leaked")
	require.NoError(t, os.WriteFile(secret, []byte("secret"), 0o600))
	leaked, err := unix.Open(secret, unix.O_RDONLY, 0) // no O_CLOEXEC
	require.NoError(t, err)
	defer unix.Close(leaked)

	// Without contain the leak is real: the counter-proof.
	plain := childCmd(t, "", "fds", nil)
	out, err := plain.Output()
	require.NoError(t, err)
	var res result
	require.NoError(t, json.Unmarshal(out, &res))
	require.Contains(t, res.Lines, fmt.Sprintf("%d -> %s", leaked, secret))

	extra, err := os.Open(os.DevNull)
	require.NoError(t, err)
	defer extra.Close()
	p := contain.Policy{Landlock: true}
	got := runFDs(t, p, extra)
	require.Len(t, got, 4, "%q", got)
	require.Equal(t, "3 -> /dev/null", got[3], "ExtraFiles stay")
	for _, l := range got {
		require.NotContains(t, l, secret)
	}

	p.KeepFDs = []int{leaked}
	got = runFDs(t, p, nil)
	require.Contains(t, got, fmt.Sprintf("%d -> %s", leaked, secret), "KeepFDs stay")
	require.Len(t, got, 4, "%q", got)
}

func runFDs(t *testing.T, p contain.Policy, extra *os.File) []string {
	t.Helper()
	var files []*os.File
	if extra != nil {
		files = append(files, extra)
	}
	cmd := childCmd(t, "", "fds", &p, files...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, contain.Start(cmd))
	require.NoError(t, cmd.Wait(), "stderr: %s", stderr.String())
	var res result
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &res))
	for i, want := range []string{"0 -> /dev/null", "1 -> pipe:", "2 -> pipe:"} {
		require.True(t, strings.HasPrefix(res.Lines[i], want), "%q", res.Lines)
	}
	// The child's own Go runtime may open its netpoller (epoll and its
	// wake-up eventfd) after the descriptors were closed: not inherited.
	return slices.DeleteFunc(res.Lines, func(l string) bool {
		_, target, _ := strings.Cut(l, " -> ")
		return target == "anon_inode:[eventpoll]" || target == "anon_inode:[eventfd]"
	})
}

func TestEnvAllowlist(t *testing.T) {
	t.Setenv("LC_TIME", "C")
	t.Setenv("CLAWD_TEST_SECRET", "hunter2")
	t.Setenv("FROM_HOST", "host value")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "k")
	p := contain.Policy{Landlock: true, Env: []string{"FROM_HOST", "GIVEN=yes", "UNSET_IN_HOST"}}
	cmd := childCmd(t, "", "env", &p)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, contain.Start(cmd))
	require.NoError(t, cmd.Wait(), "stderr: %s", stderr.String())
	var res result
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &res))

	got := map[string]string{}
	for _, kv := range res.Lines {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	want := map[string]string{"HOME": "/nonexistent", "FROM_HOST": "host value", "GIVEN": "yes", "LC_TIME": "C"}
	for _, name := range []string{"PATH", "LANG", "TZ", "GORACE", "GODEBUG", "GOTRACEBACK"} {
		if v, ok := os.LookupEnv(name); ok {
			want[name] = v
		}
	}
	want["GORACE"] = "atexit_sleep_ms=0" // child() sets it
	if v, ok := os.LookupEnv("GORACE"); ok {
		want["GORACE"] = strings.TrimSpace(v + " atexit_sleep_ms=0")
	}
	require.NotContains(t, got, contain.EnvHandoff, "the child drops its hand-off before the plugin runs")
	require.Equal(t, want, got)
}

// status reads the named /proc/self/status lines of a child confined by p.
func status(t *testing.T, p contain.Policy, exe string) []string {
	t.Helper()
	cmd := childCmd(t, exe, "status CapInh,CapPrm,CapEff,CapBnd,CapAmb,NoNewPrivs,Uid,Gid,Groups", &p)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, contain.Start(cmd))
	require.NoError(t, cmd.Wait(), "stderr: %s", stderr.String())
	var res result
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &res), "stdout %q", stdout.String())
	require.Zero(t, res.Errno)
	return res.Lines
}

const noCaps = "0000000000000000"

func TestCapabilitiesDropped(t *testing.T) {
	require.Zero(t, os.Geteuid(), "these tests run as root: the case the drop is for")
	self, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	require.NotContains(t, string(self), "CapBnd:\t"+noCaps, "the test process has a bounding set to lose")

	lines := status(t, contain.Policy{Landlock: true}, "")
	require.Equal(t, []string{
		"Uid: 0 0 0 0", "Gid: 0 0 0 0", groupsLine(t, string(self)),
		"CapInh: " + noCaps, "CapPrm: " + noCaps, "CapEff: " + noCaps, "CapBnd: " + noCaps, "CapAmb: " + noCaps, "NoNewPrivs: 1",
	}, lines)
}

// exeFor copies the test binary where uid 65534 may execute it (the build
// directory is root's, mode 0700) and returns the copy and its directory.
func exeFor(t *testing.T) (string, string) {
	dir, err := os.MkdirTemp("", "contain-uid-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	src, err := os.Open(os.Args[0])
	require.NoError(t, err)
	defer src.Close()
	exe := filepath.Join(dir, "contain.test")
	dst, err := os.OpenFile(exe, os.O_CREATE|os.O_WRONLY, 0o755)
	require.NoError(t, err)
	_, err = io.Copy(dst, src)
	require.NoError(t, err)
	require.NoError(t, dst.Close())
	return exe, dir
}

func TestRunAsNobody(t *testing.T) {
	exe, dir := exeFor(t)
	p := contain.Policy{Landlock: true, UID: 65534, GID: 65534, PrivateHome: true, ReadOnly: []string{dir}}
	lines := status(t, p, exe)
	require.Equal(t, []string{
		"Uid: 65534 65534 65534 65534", "Gid: 65534 65534 65534 65534", "Groups:",
		"CapInh: " + noCaps, "CapPrm: " + noCaps, "CapEff: " + noCaps, "CapBnd: " + noCaps, "CapAmb: " + noCaps, "NoNewPrivs: 1",
	}, lines)

	// Its private home is its own; a root-owned 0700 directory, such as a
	// private cache copy of a library, is closed to it although Landlock
	// grants it.
	private := t.TempDir() // 0700, root's
	lib := filepath.Join(private, "lib.so")
	require.NoError(t, os.WriteFile(lib, []byte("x"), 0o644))
	p.ReadOnly = append(p.ReadOnly, private)
	cmd := childCmd(t, exe, "home "+lib, &p)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, contain.Start(cmd))
	require.NoError(t, cmd.Wait(), "stderr: %s", stderr.String())
	var res result
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &res))
	home := res.Lines[0]
	require.Equal(t, []int{0, int(unix.EACCES)}, res.Errnos, "write in $HOME, read the 0700 directory")
	st, err := os.Stat(home)
	require.NoError(t, err)
	require.Equal(t, uint32(65534), st.Sys().(*syscall.Stat_t).Uid)
	require.NoError(t, contain.Cleanup(cmd))
	_, err = os.Stat(home)
	require.ErrorIs(t, err, os.ErrNotExist, "Cleanup removes the private home")

	r := runConfinedAs(t, p, exe)
	require.Equal(t, 65534, r.UID)
	require.Equal(t, 65534, r.GID)
	require.True(t, r.NoCapabilities)
	require.Contains(t, r.String(), "no capabilities, uid 65534 gid 65534")
}

func runConfinedAs(t *testing.T, p contain.Policy, exe string) contain.Report {
	t.Helper()
	cmd := childCmd(t, exe, "report", &p)
	defer contain.Cleanup(cmd)
	out, err := cmd.Output()
	require.NoError(t, err)
	var res result
	require.NoError(t, json.Unmarshal(out, &res))
	return *res.Report
}

func TestPolicyRejects(t *testing.T) {
	for _, c := range []struct {
		p    contain.Policy
		want string
	}{
		{contain.Policy{Env: []string{"=x"}}, `env entry "=x" has no name`},
		{contain.Policy{Env: []string{"A=\x00"}}, "NUL byte"},
		{contain.Policy{Env: []string{contain.EnvHandoff + "={}"}}, "sandbox's own hand-off"},
		{contain.Policy{KeepFDs: []int{-1}}, "keeps descriptor -1"},
		{contain.Policy{UID: 65534}, "set both or neither"},
		{contain.Policy{UID: -2, GID: -2}, "ids are not negative"},
	} {
		_, err := contain.Prepare(exec.Command(os.Args[0]), c.p)
		require.ErrorContains(t, err, c.want)
	}
}

// groupsLine is the Groups line of a status file, normalized as status
// does: a child that keeps root's ids keeps the test's groups.
func groupsLine(t *testing.T, status string) string {
	for line := range strings.Lines(status) {
		if strings.HasPrefix(line, "Groups:") {
			return strings.Join(strings.Fields(line), " ")
		}
	}
	t.Fatal("no Groups line")
	return ""
}

// childCmd is exe (the test binary when "") as a child performing action,
// confined by p (nil: not confined), with files as its descriptors 3 on.
func childCmd(t *testing.T, exe, action string, p *contain.Policy, files ...*os.File) *exec.Cmd {
	t.Helper()
	if exe == "" {
		exe = os.Args[0]
	}
	cmd, tree, err := child.Command(exe, []string{"-test.run=^$"}, childEnv(), testRole, action, p, files...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tree.Release() })
	return cmd
}
