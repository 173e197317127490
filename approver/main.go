// kube-pki-csr-approver approves kubelet serving-certificate CSRs (signer kubernetes.io/kubelet-serving) that match
// their Node and denies every other CSR for that signer, with the reason in the Denied condition, an event and the
// log (policy.go has the rules). It watches only that signer's CSRs, decides each pending one once, and runs on every
// control-plane node with one leader at a time (a Lease in kube-system).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	certificateslisters "k8s.io/client-go/listers/certificates/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
)

const (
	name          = "kube-pki-csr-approver"
	leaseNS       = "kube-system"
	approvedBy    = "KubePkiApproved"
	deniedBy      = "KubePkiDenied"
	resyncEvery   = 10 * time.Minute
	leaseDuration = 15 * time.Second
)

func main() {
	kubeconfig := flag.String("kubeconfig", "/etc/kubernetes/"+name+".conf", "kubeconfig of the approver's user (kube-pki issues it)")
	leaderElect := flag.Bool("leader-elect", true, "hold the Lease kube-system/"+name+" before deciding: one active approver per cluster")
	qps := flag.Float64("qps", 100, "API requests per second (an approval is one update, plus one Node get)")
	burst := flag.Int("burst", 200, "API request burst")
	workers := flag.Int("workers", 32, "CSRs decided in parallel (each waits on two API round trips: few workers, not --qps, would bound the rate)")
	healthz := flag.String("healthz-bind-address", "127.0.0.1:10271", "address of /healthz (\"\" disables it)")
	flag.Parse()

	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		log.Fatalf("%s: kubeconfig %s: %v", name, *kubeconfig, err)
	}
	cfg.QPS, cfg.Burst, cfg.UserAgent = float32(*qps), *burst, name
	client := kubernetes.NewForConfigOrDie(cfg)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	elected := leaderelection.NewLeaderHealthzAdaptor(2 * leaseDuration)
	if *healthz != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
			if err := elected.Check(r); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			fmt.Fprintln(w, "ok")
		})
		go func() { log.Fatal(http.ListenAndServe(*healthz, mux)) }()
	}

	if !*leaderElect {
		run(ctx, client, *workers)
		return
	}
	host, _ := os.Hostname()
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: leaseNS, Name: name},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: host + "_" + string(uuid.NewUUID())},
	}
	leaderelection.RunOrDie(ctx, leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   leaseDuration,
		RenewDeadline:   10 * time.Second,
		RetryPeriod:     2 * time.Second,
		ReleaseOnCancel: true,
		WatchDog:        elected,
		Name:            name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) { run(ctx, client, *workers) },
			// Deciding without the lease could race another approver: stop and let the supervisor start us again.
			OnStoppedLeading: func() {
				if ctx.Err() == nil {
					log.Fatalf("%s: lost the lease", name)
				}
			},
		},
	})
}

type controller struct {
	client   kubernetes.Interface
	csrs     certificateslisters.CertificateSigningRequestLister
	queue    workqueue.TypedRateLimitingInterface[string]
	recorder record.EventRecorder
}

// run decides pending CSRs until ctx ends: an informer on the kubelet-serving signer's CSRs only, so a cluster's
// other CSRs cost this process nothing, feeding a rate-limited queue of names.
func run(ctx context.Context, client kubernetes.Interface, workers int) {
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	defer broadcaster.Shutdown()

	factory := informers.NewSharedInformerFactoryWithOptions(client, resyncEvery, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("spec.signerName", certificatesv1.KubeletServingSignerName).String()
	}))
	informer := factory.Certificates().V1().CertificateSigningRequests()
	c := &controller{
		client:   client,
		csrs:     informer.Lister(),
		queue:    workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		recorder: broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: name}),
	}
	defer c.queue.ShutDown()
	enqueue := func(obj any) {
		if csr, ok := obj.(*certificatesv1.CertificateSigningRequest); ok && !decided(csr) {
			c.queue.Add(csr.Name)
		}
	}
	if _, err := informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	}); err != nil {
		log.Fatalf("%s: %v", name, err)
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), informer.Informer().HasSynced) {
		return
	}
	log.Printf("%s: watching CSRs of signer %s with %d workers", name, certificatesv1.KubeletServingSignerName, workers)
	for range workers {
		go func() {
			for c.next(ctx) {
			}
		}()
	}
	<-ctx.Done()
}

// decided: approved, denied, failed or issued CSRs are never looked at again.
func decided(csr *certificatesv1.CertificateSigningRequest) bool {
	if len(csr.Status.Certificate) > 0 {
		return true
	}
	for _, c := range csr.Status.Conditions {
		switch c.Type {
		case certificatesv1.CertificateApproved, certificatesv1.CertificateDenied, certificatesv1.CertificateFailed:
			return true
		}
	}
	return false
}

func (c *controller) next(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	if err := c.handle(ctx, key); err != nil {
		log.Printf("%s: CSR %s: %v (retrying)", name, key, err)
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	return true
}

func (c *controller) handle(ctx context.Context, key string) error {
	cached, err := c.csrs.Get(key)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if decided(cached) || cached.Spec.SignerName != certificatesv1.KubeletServingSignerName {
		return nil
	}
	var node *corev1.Node
	if nodeName := nodeNameOf(cached); nodeName != "" {
		node, err = c.client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			node, err = nil, nil
		}
		if err != nil {
			return fmt.Errorf("get Node %s: %w", nodeName, err)
		}
	}
	approve, reason := decide(cached, node)
	csr := cached.DeepCopy()
	condition := certificatesv1.CertificateSigningRequestCondition{
		Status: corev1.ConditionTrue, Message: reason, LastUpdateTime: metav1.Now(),
	}
	if approve {
		condition.Type, condition.Reason = certificatesv1.CertificateApproved, approvedBy
	} else {
		condition.Type, condition.Reason = certificatesv1.CertificateDenied, deniedBy
	}
	csr.Status.Conditions = append(csr.Status.Conditions, condition)
	_, err = c.client.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if apierrors.IsConflict(err) {
		// Changed since the cache saw it (decided elsewhere, or a status write): the informer's update brings it back.
		return nil
	}
	if err != nil {
		return err
	}
	if approve {
		log.Printf("%s: approved CSR %s of %s", name, csr.Name, csr.Spec.Username)
	} else {
		log.Printf("%s: DENIED CSR %s of %s: %s", name, csr.Name, csr.Spec.Username, reason)
		c.recorder.Event(csr, corev1.EventTypeWarning, deniedBy, reason)
	}
	return nil
}
