// pgfn-kubelet-exec: the node agent's kubelet exec endpoint. The API server forwards
// `kubectl exec` (pods/exec) to a node's kubelet at status.daemonEndpoints.kubeletEndpoint; this
// server answers /exec/<namespace>/<pod>/[<uid>/]<container> with the kubelet's own streaming code
// (k8s.io/kubelet/pkg/cri/streaming/remotecommand: SPDY and WebSocket, stdin/stdout/stderr, TTY, exit
// codes) and runs the command inside the container's sandbox: nsenter into its mount, PID, UTS and
// IPC namespaces, with the container's environment and working directory, as a container runtime would.
//
// The agent describes each running container in <targets>/<namespace>_<pod>_<container>.json:
// {"pid": <pid of the sandbox's unshare>, "env": {...}}. The namespace's first process is that
// pid's first child.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/creack/pty"
	"k8s.io/apimachinery/pkg/types"
	remotecommandconsts "k8s.io/apimachinery/pkg/util/remotecommand"
	"k8s.io/client-go/tools/remotecommand"
	remotecommandserver "k8s.io/kubelet/pkg/cri/streaming/remotecommand"
)

type target struct {
	Pid int               `json:"pid"`
	Env map[string]string `json:"env"`
}

type executor struct{ dir string }

// exitError carries a command's exit status to ServeExec, which reports it as kubelet does.
type exitError struct{ code int }

func (e exitError) Error() string   { return fmt.Sprintf("exit status %d", e.code) }
func (e exitError) String() string  { return e.Error() }
func (e exitError) Exited() bool    { return true }
func (e exitError) ExitStatus() int { return e.code }

func (x executor) lookup(name, container string) (target, error) {
	var t target
	parts := strings.SplitN(name, "/", 2)
	if len(parts) != 2 {
		return t, fmt.Errorf("invalid pod name %q", name)
	}
	file := filepath.Join(x.dir, fmt.Sprintf("%s_%s_%s.json", parts[0], parts[1], container))
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return t, fmt.Errorf("container %q of pod %s is not running on this node", container, name)
	}
	if err != nil {
		return t, err
	}
	return t, json.Unmarshal(data, &t)
}

// initPid is the first process in the sandbox's PID namespace (the child of unshare).
func initPid(pid int) (int, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0, fmt.Errorf("the container's sandbox is gone: %w", err)
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return 0, errors.New("the container's sandbox has no process yet")
	}
	return strconv.Atoi(fields[0])
}

func (x executor) ExecInContainer(ctx context.Context, name string, _ types.UID, container string, cmd []string, in io.Reader,
	out, errOut io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, _ time.Duration) error {
	t, err := x.lookup(name, container)
	if err != nil {
		return err
	}
	init, err := initPid(t.Pid)
	if err != nil {
		return err
	}
	args := append([]string{"--target", strconv.Itoa(init), "--mount", "--pid", "--uts", "--ipc", "--wd", "--"}, cmd...)
	c := exec.CommandContext(ctx, "/usr/bin/nsenter", args...)
	env := make([]string, 0, len(t.Env))
	for k, v := range t.Env {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	c.Env = env
	if tty {
		err = runWithTTY(c, in, out, resize)
	} else {
		if in != nil {
			c.Stdin = in
		}
		c.Stdout, c.Stderr = out, errOut
		err = c.Run()
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exitError{code: exit.ExitCode()}
	}
	return err
}

func runWithTTY(c *exec.Cmd, in io.Reader, out io.Writer, resize <-chan remotecommand.TerminalSize) error {
	if c.Env != nil {
		c.Env = append(c.Env, "TERM=xterm")
	}
	f, err := pty.Start(c)
	if err != nil {
		return err
	}
	defer f.Close()
	go func() {
		for size := range resize {
			_ = pty.Setsize(f, &pty.Winsize{Rows: size.Height, Cols: size.Width})
		}
	}()
	if in != nil {
		go func() { _, _ = io.Copy(f, in) }()
	}
	_, _ = io.Copy(out, f)
	return c.Wait()
}

// handle serves /exec/<ns>/<pod>/<container> and /exec/<ns>/<pod>/<uid>/<container>.
func (x executor) handle(w http.ResponseWriter, req *http.Request) {
	parts := strings.Split(strings.TrimPrefix(req.URL.Path, "/exec/"), "/")
	if len(parts) != 3 && len(parts) != 4 {
		http.NotFound(w, req)
		return
	}
	ns, pod, container := parts[0], parts[1], parts[len(parts)-1]
	uid := ""
	if len(parts) == 4 {
		uid = parts[2]
	}
	opts, err := remotecommandserver.NewOptions(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	cmd := req.URL.Query()["command"]
	remotecommandserver.ServeExec(w, req, x, ns+"/"+pod, types.UID(uid), container, cmd, opts,
		4*time.Hour, 30*time.Second, remotecommandconsts.SupportedStreamingProtocols)
}

// selfSigned is the serving certificate; the API server does not verify kubelets without
// --kubelet-certificate-authority (our control plane sets none).
func selfSigned(host string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "pgfn-node-agent"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP(host)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func main() {
	address := flag.String("address", "127.0.0.1", "address to listen on (the node's InternalIP)")
	targets := flag.String("targets", "", "directory of the running containers' exec targets")
	flag.Parse()
	if *targets == "" {
		fmt.Fprintln(os.Stderr, "--targets is required")
		os.Exit(2)
	}
	cert, err := selfSigned(*address)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(*address, "0"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The agent reads the port from the first line.
	fmt.Printf("port %d\n", ln.Addr().(*net.TCPAddr).Port)
	mux := http.NewServeMux()
	x := executor{dir: *targets}
	mux.HandleFunc("/exec/", x.handle)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	server := &http.Server{
		Handler:           mux,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}},
		ReadHeaderTimeout: 30 * time.Second,
		// HTTP/1.1 only: exec streams are connection upgrades (SPDY or WebSocket).
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	if err := server.ServeTLS(ln, "", ""); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
