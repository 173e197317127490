// fakecri serves Kubernetes' own fake CRI runtime and image service (k8s.io/cri-client/pkg/fake, what the kubelet's
// tests use) on a unix socket as a standalone process, so a real kubelet runs without containerd: kube-pki's
// control-plane tests and benchmarks need the kubelet's TLS bootstrap, not containers. The upstream in-tree fake
// (pkg/kubelet/cri/remote/fake) no longer exists; this main is the ~30 lines that replace it.
//
//	fakecri <socket path>
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/cri-client/pkg/fake"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: fakecri <socket path>")
		os.Exit(2)
	}
	// A stale socket from a killed run would make the listen fail.
	_ = os.Remove(os.Args[1])
	rt := fake.NewFakeRemoteRuntime()
	// The fake's status is nil by default, and a kubelet whose runtime reports no status keeps its Node NotReady:
	// runtime and network ready, as kubemark's fake runtime reports, so a joined kubelet's Node can be Ready.
	rt.RuntimeService.FakeStatus = &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{
		{Type: runtimeapi.RuntimeReady, Status: true},
		{Type: runtimeapi.NetworkReady, Status: true},
	}}
	if err := rt.Start("unix://" + os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "fakecri:", err)
		os.Exit(1)
	}
	fmt.Println("fakecri: serving on", os.Args[1])
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	rt.Stop()
	_ = os.Remove(os.Args[1])
}
