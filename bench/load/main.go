// Command load measures kelas under concurrent clients on loopback, each
// figure beside a baseline measured in the same run: a Go hello-world
// server answering the same clients. It starts kelas in-process on
// 127.0.0.1 with demo data in a temporary directory, then:
//
//  1. single-page rounds: -rounds times, -phase/-rounds each of the
//     hello-world baseline (GET / on a plain net/http server), the
//     anonymous catalogue (GET /trainings), an anonymous training page
//     (GET /trainings/{id}) and a signed-in dashboard (GET /dashboard),
//     every client sending its next request as soon as the last is
//     answered. Interleaving the kinds in short slices lets a machine
//     shared with other work slow them alike, so the ratios hold.
//  2. the mix, for -duration: anonymous pages, signed-in pages, logins and
//     registrations together, each client pausing -think on average
//     between requests as a person reading would. Logins and
//     registrations are paced (-logins, -registrations per second, one
//     login at a time) below what bcrypt allows, so they measure kelas,
//     not a queue the program builds. Reported: req/s, p50/p99 per kind, 5xx, 429 (throttled) and
//     other errors. Every request carries the phase's deadline, so the mix
//     ends on time.
//
// Run it from the repository root (it serves ./static):
//
//	go run ./bench/load -clients 200 -duration 60s
//
// Everything listens on 127.0.0.1 and the run is bounded (-clients at most
// 2000, each phase at most 10 minutes). The throttles stay as kelas ships
// them: the program configures 127.0.0.0/8 as a trusted proxy, as a site
// behind a reverse proxy would, and gives each simulated person an
// X-Forwarded-For address of their own (every login and registration a
// new one), and each login its own account, so the throttles see many
// people instead of one. A 429 is still reported, never hidden.
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
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
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
	duration := flag.Duration("duration", 60*time.Second, "length of the mixed phase")
	phase := flag.Duration("phase", 20*time.Second, "length of each single-page kind, split over -rounds")
	rounds := flag.Int("rounds", 5, "single-page rounds")
	think := flag.Duration("think", 500*time.Millisecond, "mean pause of a client between requests in the mix (uniform 0 to twice this)")
	logins := flag.Float64("logins", 1, "logins per second in the mix (one at a time)")
	registrations := flag.Float64("registrations", 0.5, "registrations per second in the mix (kelas hashes their passwords after answering)")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the mixed phase to this file")
	cost := flag.Int("bcrypt-cost", 12, "bcrypt cost of kelas and of the accounts that log in during the mix")
	flag.Parse()
	if *clients < 1 || *clients > 2000 || *duration <= 0 || *duration > 10*time.Minute || *phase <= 0 || *phase > 10*time.Minute ||
		*rounds < 1 || *rounds > 100 || *logins < 0 || *logins > 100 || *registrations < 0 || *registrations > 100 || *think < 0 {
		return errors.New("-clients must be 1 to 2000, -duration and -phase at most 10m, -rounds 1 to 100, -logins and -registrations 0 to 100")
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
	trs, err := st.Trainings(ctx, store.CatalogueFilter{})
	if err != nil || len(trs) == 0 {
		return fmt.Errorf("demo trainings: %v", err)
	}
	trainingURL := base + "/trainings/" + trs[0].ID

	// Accounts, made directly in the store so setting up does not measure
	// bcrypt: the signed-in clients' accounts carry a minimum-cost hash
	// (their one login each is set-up, not measured); the accounts that
	// log in during the mix carry a hash of -bcrypt-cost, as real ones do.
	const password = "load test password 2026"
	cheap, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		return err
	}
	costly, err := bcrypt.GenerateFromPassword([]byte(password), *cost)
	if err != nil {
		return err
	}
	policy := currentPolicy(ctx, st)
	account := func(email string, hash []byte, i int) error {
		_, err := st.CreateUser(ctx, store.NewUser{Email: email, FirstName: "Load", Surname: fmt.Sprint(i), PasswordHash: string(hash),
			Role: store.RoleLearner, Verified: true, AcceptedPolicy: policy, Country: "ID", Industry: "C"})
		return err
	}
	var loginEmails []string
	for i := range *clients {
		if err := account(fmt.Sprintf("load%d@example.test", i), cheap, i); err != nil {
			return err
		}
		email := fmt.Sprintf("login%d@example.test", i)
		if err := account(email, costly, i); err != nil {
			return err
		}
		loginEmails = append(loginEmails, email)
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
	helloURL := "http://" + hln.Addr().String() + "/"

	signed := make([]*client, *clients)
	for i := range signed {
		c := newClient(addr(0, i))
		if err := c.login(ctx, base, fmt.Sprintf("load%d@example.test", i), password); err != nil {
			return fmt.Errorf("setting up signed-in clients: %w", err)
		}
		signed[i] = c
	}
	anon := make([]*client, *clients)
	for i := range anon {
		anon[i] = newClient(addr(1, i))
	}

	fmt.Printf("machine: %d CPUs, %s; load average before: %s\n", runtime.NumCPU(), runtime.Version(), loadAvg())
	fmt.Printf("%d clients; bcrypt cost %d\n\n", *clients, *cost)

	// Single-page rounds.
	slice := *phase / time.Duration(*rounds)
	kinds := []struct {
		name string
		cs   []*client
		f    func(context.Context, *client) (string, error)
	}{
		{"hello-world", anon, func(ctx context.Context, c *client) (string, error) { return "hello-world", c.anon(ctx, helloURL) }},
		{"catalogue", anon, func(ctx context.Context, c *client) (string, error) {
			return "catalogue", c.anon(ctx, base+"/trainings")
		}},
		{"training page", anon, func(ctx context.Context, c *client) (string, error) { return "training page", c.anon(ctx, trainingURL) }},
		{"dashboard", signed, func(ctx context.Context, c *client) (string, error) {
			return "dashboard", c.get(ctx, base+"/dashboard", http.StatusOK)
		}},
	}
	single := newResult("single-page rounds")
	for range *rounds {
		for _, k := range kinds {
			drive(single, k.cs, slice, 0, k.f)
		}
	}
	fmt.Printf("single-page rounds (%d × %s per kind; each client sends its next request when answered):\n", *rounds, slice)
	single.print(true)
	helloRate := single.rate("hello-world")
	for _, k := range kinds[1:] {
		fmt.Printf("  ratio %s / hello-world: %.3f\n", k.name, single.rate(k.name)/helloRate)
	}
	fmt.Println()

	// The mix: paced logins and registrations, pages for the rest, half
	// anonymous and half signed in.
	var nLogin, nReg, loginSkipped atomic.Int64
	var loginBusy atomic.Bool
	loginTokens := pace(ctx, *logins)
	regTokens := pace(ctx, *registrations)
	anonPages := []string{"/", "/trainings", "/privacy", "/stats", trainingURL[len(base):]}
	signedPages := []string{"/dashboard", "/trainings", "/rights", "/profile", trainingURL[len(base):]}
	mix := newResult("mix")
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	drive(mix, signed, *duration, *think, func(ctx context.Context, c *client) (string, error) {
		select {
		case <-loginTokens:
			// One login at a time: the program never queues logins
			// behind bcrypt itself; a login due while one runs is
			// skipped (and counted).
			if !loginBusy.CompareAndSwap(false, true) {
				loginSkipped.Add(1)
				break
			}
			defer loginBusy.Store(false)
			i := nLogin.Add(1)
			fresh := newClient(addr(2, int(i)))
			return "login", fresh.login(ctx, base, loginEmails[int(i)%len(loginEmails)], password)
		case <-regTokens:
			i := nReg.Add(1)
			fresh := newClient(addr(3, int(i)))
			return "register", fresh.register(ctx, base, fmt.Sprintf("new%d@example.test", i))
		default:
		}
		n := c.n.Add(1)
		if n%2 == 0 {
			return "anonymous page", c.anon(ctx, base+anonPages[int(n/2)%len(anonPages)])
		}
		return "signed-in page", c.get(ctx, base+signedPages[int(n/2)%len(signedPages)], http.StatusOK)
	})
	pprof.StopCPUProfile()
	fmt.Printf("mixed phase (%s; think time %s on average; %.1f logins/s and %.1f registrations/s offered):\n",
		*duration, *think, *logins, *registrations)
	mix.print(false)
	if n := loginSkipped.Load(); n > 0 {
		fmt.Printf("    (%d logins skipped: due while the previous one still ran)\n", n)
	}
	mix.printCombined("page views", "anonymous page", "signed-in page")
	fmt.Printf("\nload average after: %s\n", loadAvg())
	cancel()
	select {
	case err := <-served:
		return err
	case <-time.After(30 * time.Second):
		return errors.New("kelas did not stop")
	}
}

// addr is the X-Forwarded-For address of simulated person i of a group:
// 10.group.x.y, distinct for every (group, i) up to 65,536 per group.
func addr(group, i int) string {
	return netip.AddrFrom4([4]byte{10, byte(group), byte(i >> 8), byte(i)}).String()
}

// pace hands out one token per 1/rate seconds (none when rate is 0); a
// token not taken before the next one is due is dropped, so no burst
// builds up.
func pace(ctx context.Context, rate float64) <-chan struct{} {
	ch := make(chan struct{}, 1)
	if rate <= 0 {
		return ch
	}
	go func() {
		t := time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		}
	}()
	return ch
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
	hc *http.Client
	ip string
	n  atomic.Int64
}

var transport = &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: time.Minute}

func newClient(ip string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{ip: ip, hc: &http.Client{Jar: jar, Transport: transport, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// errStatus is an answer with an unexpected status; 5xx and 429 are counted
// apart from other errors.
type errStatus struct{ code int }

func (e errStatus) Error() string { return fmt.Sprintf("status %d", e.code) }

func check(res *http.Response, err error, want int) error {
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

func (c *client) request(ctx context.Context, method, u string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Forwarded-For", c.ip)
	// A browser's headers, so the visitor statistics and the access log
	// do their whole work (a Go client would be counted as a bot).
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0")
	req.Header.Set("Accept-Language", "id-ID,id;q=0.9,en;q=0.8")
	return req, nil
}

func (c *client) get(ctx context.Context, u string, want int) error {
	req, err := c.request(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	res, err := c.hc.Do(req)
	return check(res, err, want)
}

// anon fetches a page without the client's cookies.
func (c *client) anon(ctx context.Context, u string) error {
	req, err := c.request(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	res, err := transport.RoundTrip(req)
	return check(res, err, http.StatusOK)
}

func (c *client) post(ctx context.Context, u string, v url.Values, want int) error {
	req, err := c.request(ctx, http.MethodPost, u, strings.NewReader(v.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.hc.Do(req)
	return check(res, err, want)
}

func (c *client) login(ctx context.Context, base, email, password string) error {
	return c.post(ctx, base+"/login", url.Values{"email": {email}, "password": {password}}, http.StatusSeeOther)
}

func (c *client) register(ctx context.Context, base, email string) error {
	return c.post(ctx, base+"/register", url.Values{"first_name": {"Siti"}, "surname": {"Rahmawati"}, "email": {email}, "country": {"ID"},
		"company": {"Batik Nusantara"}, "industry": {"C"}, "gender": {""}, "password": {"kain batik tulis 2026"}, "adult": {"on"},
		"accept_policy": {"on"}}, http.StatusSeeOther)
}

// result gathers latencies and time spent per kind of request.
type result struct {
	name      string
	mu        sync.Mutex
	elapsed   map[string]time.Duration // time the kind was driven (single-page rounds)
	total     time.Duration            // the whole phase
	lat       map[string][]time.Duration
	fivexx    map[string]int
	throttled map[string]int
	errs      map[string]int
	example   map[string]string
}

func newResult(name string) *result {
	return &result{name: name, elapsed: map[string]time.Duration{}, lat: map[string][]time.Duration{}, fivexx: map[string]int{},
		throttled: map[string]int{}, errs: map[string]int{}, example: map[string]string{}}
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
	case errors.As(err, &es) && es.code == http.StatusTooManyRequests:
		r.throttled[kind]++
	default:
		r.errs[kind]++
		if r.example[kind] == "" {
			r.example[kind] = err.Error()
		}
	}
}

// rate is kind's requests per second of the time it was driven (single
// rounds) or of the whole phase (the mix).
func (r *result) rate(kind string) float64 {
	d := r.elapsed[kind]
	if d == 0 {
		d = r.total
	}
	return float64(len(r.lat[kind])) / d.Seconds()
}

func (r *result) print(perKind bool) {
	kinds := make([]string, 0, len(r.lat))
	n := 0
	for k, l := range r.lat {
		kinds = append(kinds, k)
		n += len(l)
	}
	slices.Sort(kinds)
	fmt.Printf("  %-16s %9.0f req/s over %s\n", r.name, float64(n)/r.total.Seconds(), r.total.Round(time.Millisecond))
	for _, k := range kinds {
		l := r.lat[k]
		slices.Sort(l)
		fmt.Printf("    %-16s %8d req  %8.1f req/s  p50 %7.1f ms  p99 %7.1f ms  5xx %d  429 %d  errors %d %s\n", k, len(l),
			r.rate(k), ms(pct(l, 0.50)), ms(pct(l, 0.99)), r.fivexx[k], r.throttled[k], r.errs[k], r.example[k])
	}
}

// printCombined prints p50/p99 over several kinds together.
func (r *result) printCombined(name string, kinds ...string) {
	var l []time.Duration
	bad := 0
	for _, k := range kinds {
		l = append(l, r.lat[k]...)
		bad += r.fivexx[k] + r.throttled[k] + r.errs[k]
	}
	slices.Sort(l)
	fmt.Printf("    %-16s %8d req  %8.1f req/s  p50 %7.1f ms  p99 %7.1f ms  failed %d\n", name, len(l),
		float64(len(l))/r.total.Seconds(), ms(pct(l, 0.50)), ms(pct(l, 0.99)), bad)
}

func pct(l []time.Duration, p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	return l[int(math.Min(float64(len(l)-1), p*float64(len(l))))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// drive runs f in a loop on every client until d has passed, pausing
// uniformly 0 to 2×think between requests. Requests carry a deadline a few
// seconds after d, so the phase ends on time even if kelas stalls; a
// request cut by it counts as an error.
func drive(r *result, cs []*client, d, think time.Duration, f func(context.Context, *client) (string, error)) {
	start := time.Now()
	stop := start.Add(d)
	ctx, cancel := context.WithDeadline(context.Background(), stop.Add(5*time.Second))
	defer cancel()
	var wg sync.WaitGroup
	var kind string
	var once sync.Once
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if think > 0 {
					time.Sleep(mrand.N(2 * think))
					if !time.Now().Before(stop) {
						return
					}
				}
				t := time.Now()
				k, err := f(ctx, c)
				r.add(k, time.Since(t), err)
				once.Do(func() { kind = k })
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total += el
	if think == 0 {
		r.elapsed[kind] += el
	}
}
