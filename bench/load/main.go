// Command load measures kelas under concurrent clients on loopback, each
// figure beside a baseline measured in the same run: a Go hello-world
// server answering the same clients. It starts kelas in-process on
// 127.0.0.1 with demo data in a temporary directory, then runs, one after
// the other and for a bounded time each:
//
//  1. hello-world baseline: GET / on a plain net/http server;
//  2. anonymous catalogue: GET /trainings;
//  3. signed-in dashboard: GET /dashboard with a session;
//  4. the mix: anonymous pages, signed-in pages, logins and registrations
//     together, reporting req/s, p50/p99 per kind, 5xx answers and errors.
//
// Run it from the repository root (it serves ./static):
//
//	go run ./bench/load -clients 200 -duration 60s
//
// Logins and registrations are bound by bcrypt at -bcrypt-cost (12, as
// kelas ships); each client presents its own X-Forwarded-For address from
// a trusted loopback proxy, so the per-address throttles see 200 people,
// not one.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"kelas/app"
	"kelas/jobs"
	"kelas/store"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run() error {
	clients := flag.Int("clients", 200, "concurrent clients")
	duration := flag.Duration("duration", 60*time.Second, "length of the mixed phase (the three single-page phases take a quarter of it each)")
	cost := flag.Int("bcrypt-cost", 12, "bcrypt cost of kelas (logins and registrations are bound by it)")
	flag.Parse()
	if *clients < 1 || *clients > 2000 || *duration <= 0 || *duration > 10*time.Minute {
		return errors.New("-clients must be 1 to 2000 and -duration at most 10m")
	}
	if _, err := os.Stat("static/kelas.css"); err != nil {
		return errors.New("run from the repository root (./static is served)")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	dir, err := os.MkdirTemp("", "kelas-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	key := make([]byte, 32)
	rand.Read(key)
	st, err := store.Open(ctx, store.Options{Dir: dir, MasterKey: key})
	if err != nil {
		return err
	}
	defer st.Close()
	proxies := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	cfg := app.Config{Addr: "127.0.0.1:0", DataDir: dir, BcryptCost: *cost, Demo: true, TrustedProxies: proxies}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	bg, err := jobs.New(jobs.Config{}, st, log)
	if err != nil {
		return err
	}
	a, err := app.New(cfg, app.Deps{Log: log, Store: st, Static: os.DirFS("static"), Background: bg})
	if err != nil {
		return err
	}
	bg.SetWork(jobs.Work(a.Tasks()))
	if err := bg.Prepare(ctx); err != nil {
		return err
	}
	if err := a.Prepare(ctx); err != nil {
		return err
	}
	defer a.Close(context.Background())
	ready := make(chan string, 1)
	served := make(chan error, 1)
	go func() { served <- bg.Serve(ctx, a.Serve, func(addr string) { ready <- addr }) }()
	var base string
	select {
	case addr := <-ready:
		base = "http://" + addr
	case err := <-served:
		return err
	case <-time.After(30 * time.Second):
		return errors.New("kelas did not start")
	}

	// Accounts for the signed-in clients, made directly in the store (one
	// hash, reused) so setting up does not measure bcrypt.
	const password = "load test password 2026"
	hash, err := bcrypt.GenerateFromPassword([]byte(password), *cost)
	if err != nil {
		return err
	}
	var emails []string
	for i := range *clients {
		email := fmt.Sprintf("load%d@example.test", i)
		if _, err := st.CreateUser(ctx, store.NewUser{Email: email, FirstName: "Load", Surname: fmt.Sprint(i), PasswordHash: string(hash),
			Role: store.RoleLearner, Verified: true, AcceptedPolicy: currentPolicy(ctx, st), Country: "ID", Industry: "C"}); err != nil {
			return err
		}
		emails = append(emails, email)
	}

	hello := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello, world\n")
	})}
	hln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go hello.Serve(hln)
	defer hello.Close()

	fmt.Printf("machine: %d CPUs, %s; load average before: %s\n", runtime.NumCPU(), runtime.Version(), loadAvg())
	fmt.Printf("%d clients; bcrypt cost %d\n\n", *clients, *cost)
	phase := *duration / 4

	helloRes := drive("hello-world", *clients, phase, func(c *client) (string, error) { return "hello", c.get("http://"+hln.Addr().String()+"/", 200) })
	anonRes := drive("catalogue", *clients, phase, func(c *client) (string, error) { return "catalogue", c.get(base+"/trainings", 200) })
	signed := make([]*client, *clients)
	for i := range signed {
		c := newClient(i)
		if err := c.login(base, emails[i], password); err != nil {
			return fmt.Errorf("setting up signed-in clients: %w", err)
		}
		signed[i] = c
	}
	dashRes := driveWith("dashboard", signed, phase, func(c *client) (string, error) { return "dashboard", c.get(base+"/dashboard", 200) })

	fmt.Println("single-page phases (each a quarter of -duration):")
	helloRes.print()
	anonRes.print()
	dashRes.print()
	fmt.Printf("  ratio catalogue / hello-world: %.3f\n", anonRes.rate()/helloRes.rate())
	fmt.Printf("  ratio dashboard / hello-world: %.3f\n\n", dashRes.rate()/helloRes.rate())

	// The mix: of each ten requests, four anonymous pages, four signed-in
	// pages, one login and one registration.
	var regs atomic.Int64
	anonPages := []string{"/", "/trainings", "/privacy", "/stats"}
	mix := driveWith("mix", signed, *duration, func(c *client) (string, error) {
		n := c.n.Add(1)
		switch n % 10 {
		case 0:
			fresh := newClient(int(n) + 1_000_000)
			return "login", fresh.login(base, emails[int(n/10)%len(emails)], password)
		case 5:
			i := regs.Add(1)
			return "register", c.register(base, fmt.Sprintf("new%d.%d@example.test", c.id, i))
		case 1, 2, 3, 4:
			return "anonymous page", c.anon(base + anonPages[n%4])
		default:
			return "signed-in page", c.get(base+[]string{"/dashboard", "/trainings", "/rights", "/profile"}[n%4], 200)
		}
	})
	fmt.Printf("mixed phase (%s):\n", *duration)
	mix.print()
	fmt.Printf("\nload average after: %s\n", loadAvg())
	cancel()
	select {
	case err := <-served:
		return err
	case <-time.After(30 * time.Second):
		return errors.New("kelas did not stop")
	}
}

func currentPolicy(ctx context.Context, st *store.Store) string {
	p, err := st.CurrentPolicy(ctx)
	if err != nil {
		return ""
	}
	return p.Version
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// client is one simulated person: a cookie jar, no redirects followed, and
// an address of its own for X-Forwarded-For.
type client struct {
	id  int
	hc  *http.Client
	ip  string
	n   atomic.Int64
	bad atomic.Int64
}

var transport = &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: time.Minute}

func newClient(id int) *client {
	jar, _ := cookiejar.New(nil)
	ip := netip.AddrFrom4([4]byte{10, byte(id >> 16), byte(id >> 8), byte(id)})
	return &client{id: id, ip: ip.String(), hc: &http.Client{Jar: jar, Transport: transport, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// errStatus is an answer with an unexpected status; 5xx are counted apart.
type errStatus struct{ code int }

func (e errStatus) Error() string { return fmt.Sprintf("status %d", e.code) }

func (c *client) do(req *http.Request, want int) error {
	req.Header.Set("X-Forwarded-For", c.ip)
	res, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != want {
		return errStatus{res.StatusCode}
	}
	return nil
}

func (c *client) get(u string, want int) error {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	return c.do(req, want)
}

// anon fetches a page without the client's cookies.
func (c *client) anon(u string) error {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Forwarded-For", c.ip)
	res, err := transport.RoundTrip(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return errStatus{res.StatusCode}
	}
	return nil
}

func (c *client) post(u string, v url.Values, want int) error {
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(v.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req, want)
}

func (c *client) login(base, email, password string) error {
	return c.post(base+"/login", url.Values{"email": {email}, "password": {password}}, http.StatusSeeOther)
}

func (c *client) register(base, email string) error {
	return c.post(base+"/register", url.Values{"first_name": {"Siti"}, "surname": {"Rahmawati"}, "email": {email}, "country": {"ID"},
		"company": {"Batik Nusantara"}, "industry": {"C"}, "gender": {""}, "password": {"kain batik tulis 2026"}, "adult": {"on"},
		"accept_policy": {"on"}}, http.StatusSeeOther)
}

// result gathers latencies per kind of request.
type result struct {
	name    string
	elapsed time.Duration
	mu      sync.Mutex
	lat     map[string][]time.Duration
	fivexx  map[string]int
	errs    map[string]int
	example map[string]string
}

func (r *result) add(kind string, d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lat[kind] = append(r.lat[kind], d)
	var es errStatus
	switch {
	case err == nil:
	case errors.As(err, &es) && es.code >= 500:
		r.fivexx[kind]++
	default:
		r.errs[kind]++
		if r.example[kind] == "" {
			r.example[kind] = err.Error()
		}
	}
}

func (r *result) total() int {
	n := 0
	for _, l := range r.lat {
		n += len(l)
	}
	return n
}

func (r *result) rate() float64 { return float64(r.total()) / r.elapsed.Seconds() }

func (r *result) print() {
	kinds := make([]string, 0, len(r.lat))
	for k := range r.lat {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	fmt.Printf("  %-16s %9.0f req/s over %s\n", r.name, r.rate(), r.elapsed.Round(time.Millisecond))
	for _, k := range kinds {
		l := r.lat[k]
		slices.Sort(l)
		fmt.Printf("    %-16s %8d req  %8.1f req/s  p50 %7.1f ms  p99 %7.1f ms  5xx %d  errors %d %s\n", k, len(l),
			float64(len(l))/r.elapsed.Seconds(), ms(pct(l, 0.50)), ms(pct(l, 0.99)), r.fivexx[k], r.errs[k], r.example[k])
	}
}

func pct(l []time.Duration, p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	return l[int(math.Min(float64(len(l)-1), p*float64(len(l))))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func drive(name string, n int, d time.Duration, f func(*client) (string, error)) *result {
	cs := make([]*client, n)
	for i := range cs {
		cs[i] = newClient(i)
	}
	return driveWith(name, cs, d, f)
}

// driveWith runs f in a loop on every client until d has passed.
func driveWith(name string, cs []*client, d time.Duration, f func(*client) (string, error)) *result {
	r := &result{name: name, lat: map[string][]time.Duration{}, fivexx: map[string]int{}, errs: map[string]int{}, example: map[string]string{}}
	stop := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				t := time.Now()
				kind, err := f(c)
				r.add(kind, time.Since(t), err)
			}
		}()
	}
	wg.Wait()
	r.elapsed = time.Since(start)
	return r
}
