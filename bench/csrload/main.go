// csrload submits node client CSRs the way a joining kubelet does (signer kubernetes.io/kube-apiserver-client-kubelet,
// CN system:node:<name>, O system:nodes, requested with a bootstrap token) and waits until the controller-manager has
// approved and signed every one: the CSR path of a 10,000-node cluster, without 10,000 kubelets. It watches the CSRs
// (one watch, as the bootstrap token's node-bootstrapper role allows) instead of polling each, so the figures measure
// the controller-manager, not the generator. Prints one JSON object of figures on stdout.
//
//	csrload -kubeconfig bootstrap-kubelet.conf -n 10000 [-concurrency 64] [-prefix load] [-timeout 30m]
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	certv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "a kubeconfig with a bootstrap token (bootstrap-kubelet.conf)")
	n := flag.Int("n", 1000, "CSRs to submit")
	concurrency := flag.Int("concurrency", 64, "CSRs in flight")
	prefix := flag.String("prefix", "load", "node name prefix (CSR names are <prefix>-<i>)")
	timeout := flag.Duration("timeout", 30*time.Minute, "give up after")
	flag.Parse()
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fail("kubeconfig: %v", err)
	}
	// The generator must not be what limits the rate: client-go's default is 5 requests/s.
	cfg.QPS, cfg.Burst = 5000, 10000
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	// One key for every CSR: what is measured is the API's work per CSR, not key generation (each CSR still carries
	// its own subject, so each is a distinct request the approver reviews and the signer signs).
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		fail("key: %v", err)
	}
	names := make([]string, *n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%d", *prefix, i)
	}
	submitted := make(map[string]time.Time, *n)
	issued := make(map[string]time.Duration, *n)
	var mu sync.Mutex
	done := make(chan struct{})

	var denied int
	// observe records one CSR's state; it reports whether every CSR has been issued (or refused).
	observe := func(csr *certv1.CertificateSigningRequest) bool {
		mu.Lock()
		defer mu.Unlock()
		if !strings.HasPrefix(csr.Name, *prefix+"-") {
			return len(issued) == *n
		}
		if _, seen := issued[csr.Name]; seen {
			return len(issued) == *n
		}
		for _, c := range csr.Status.Conditions {
			if c.Type == certv1.CertificateDenied || c.Type == certv1.CertificateFailed {
				denied++
				issued[csr.Name] = -1
			}
		}
		if _, refused := issued[csr.Name]; !refused && len(csr.Status.Certificate) > 0 {
			// An event can reach us before Create returns: the submit time is then not yet recorded.
			t, ok := submitted[csr.Name]
			if !ok {
				t = time.Now()
			}
			issued[csr.Name] = time.Since(t)
		}
		return len(issued) == *n
	}
	go func() {
		defer close(done)
		// The API server closes a watch that falls behind (30,000 events for 10,000 CSRs): list to catch up, then
		// watch again from the list's resource version, until every CSR is seen issued or the context ends.
		for ctx.Err() == nil {
			list, err := client.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
			if err != nil {
				time.Sleep(time.Second)
				continue
			}
			all := false
			for i := range list.Items {
				all = observe(&list.Items[i])
			}
			if all {
				return
			}
			w, err := client.CertificatesV1().CertificateSigningRequests().Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
			if err != nil {
				continue
			}
			for ev := range w.ResultChan() {
				csr, ok := ev.Object.(*certv1.CertificateSigningRequest)
				if (ev.Type == watch.Added || ev.Type == watch.Modified) && ok && observe(csr) {
					w.Stop()
					return
				}
			}
		}
	}()

	start := time.Now()
	jobs := make(chan string)
	var wg sync.WaitGroup
	var submitErr error
	for range *concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range jobs {
				der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
					Subject: pkix.Name{CommonName: "system:node:" + name, Organization: []string{"system:nodes"}},
				}, key)
				if err == nil {
					mu.Lock()
					submitted[name] = time.Now()
					mu.Unlock()
					_, err = client.CertificatesV1().CertificateSigningRequests().Create(ctx, &certv1.CertificateSigningRequest{
						ObjectMeta: metav1.ObjectMeta{Name: name},
						Spec: certv1.CertificateSigningRequestSpec{
							Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
							SignerName: certv1.KubeAPIServerClientKubeletSignerName,
							Usages:     []certv1.KeyUsage{certv1.UsageDigitalSignature, certv1.UsageClientAuth},
						},
					}, metav1.CreateOptions{})
				}
				if err != nil {
					mu.Lock()
					if submitErr == nil {
						submitErr = fmt.Errorf("%s: %w", name, err)
					}
					mu.Unlock()
					cancel()
				}
			}
		}()
	}
	for _, name := range names {
		jobs <- name
	}
	close(jobs)
	wg.Wait()
	submitTime := time.Since(start)
	if submitErr != nil {
		fail("create: %v", submitErr)
	}
	<-done
	total := time.Since(start)

	mu.Lock()
	defer mu.Unlock()
	lat := make([]float64, 0, len(issued))
	for _, d := range issued {
		if d >= 0 {
			lat = append(lat, d.Seconds())
		}
	}
	sort.Float64s(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	out := map[string]any{
		"submitted": len(submitted), "issued": len(lat), "denied": denied,
		"submitSeconds": submitTime.Seconds(), "totalSeconds": total.Seconds(),
		"issuedPerSecond": float64(len(lat)) / total.Seconds(),
		"latencyP50":      pct(0.5), "latencyP99": pct(0.99), "latencyMax": pct(1),
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
	if len(lat) != *n {
		fail("%d of %d CSRs issued before the timeout (%d denied or failed)", len(lat), *n, denied)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "csrload: "+format+"\n", args...)
	os.Exit(1)
}
