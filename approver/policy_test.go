package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"net/url"
	"strings"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var (
	ecKey, _  = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ = rsa.GenerateKey(rand.Reader, 2048)
	ds, ke    = certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment
	sa, ca    = certificatesv1.UsageServerAuth, certificatesv1.UsageClientAuth
)

// w1 as the kubelet registers it: hostname, an InternalIP and an ExternalIP, an ExternalDNS name.
var w1 = &corev1.Node{
	ObjectMeta: metav1.ObjectMeta{Name: "w-1"},
	Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
		{Type: corev1.NodeHostName, Address: "w-1"},
		{Type: corev1.NodeInternalIP, Address: "10.88.0.21"},
		{Type: corev1.NodeExternalIP, Address: "2001:db8::21"},
		{Type: corev1.NodeExternalDNS, Address: "w-1.lab.example.com"},
	}},
}

// csrCase is one CSR as a kubelet of w-1 would send it, changed by the case.
type csrCase struct {
	key                   crypto.Signer
	cn                    string
	orgs, ous, dns, email []string
	ips                   []string
	uris                  []string
	signer, user          string
	groups                []string
	usages                []certificatesv1.KeyUsage
	node                  *corev1.Node
}

func valid() csrCase {
	return csrCase{
		key: ecKey, cn: "system:node:w-1", orgs: []string{"system:nodes"}, dns: []string{"w-1"}, ips: []string{"10.88.0.21"},
		signer: certificatesv1.KubeletServingSignerName, user: "system:node:w-1", groups: []string{"system:nodes", "system:authenticated"},
		usages: []certificatesv1.KeyUsage{ds, sa}, node: w1,
	}
}

func (c csrCase) build(t *testing.T) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	tpl := &x509.CertificateRequest{
		Subject:        pkix.Name{CommonName: c.cn, Organization: c.orgs, OrganizationalUnit: c.ous},
		DNSNames:       c.dns,
		EmailAddresses: c.email,
	}
	for _, ip := range c.ips {
		tpl.IPAddresses = append(tpl.IPAddresses, net.ParseIP(ip))
	}
	for _, u := range c.uris {
		parsed, _ := url.Parse(u)
		tpl.URIs = append(tpl.URIs, parsed)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tpl, c.key)
	if err != nil {
		t.Fatal(err)
	}
	return &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "csr-test"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: c.signer, Username: c.user, Groups: c.groups, Usages: c.usages,
		},
	}
}

func TestDecide(t *testing.T) {
	w2 := w1.DeepCopy()
	w2.Name = "w-2"
	cases := []struct {
		name    string
		change  func(*csrCase)
		approve bool
		reason  string // a part of the reason that names what is wrong
	}{
		{"a kubelet's ECDSA CSR with its hostname and InternalIP", func(*csrCase) {}, true, `Node "w-1"`},
		{"every address kind of the Node, DNS in another case with a trailing dot, IPv6", func(c *csrCase) {
			c.dns = []string{"w-1", "W-1.Lab.Example.com."}
			c.ips = []string{"10.88.0.21", "2001:db8:0:0::21"}
		}, true, `Node "w-1"`},
		{"only an IP SAN", func(c *csrCase) { c.dns = nil }, true, `Node "w-1"`},
		{"an RSA key with key encipherment (what the kubelet asks with RSA)", func(c *csrCase) {
			c.key, c.usages = rsaKey, []certificatesv1.KeyUsage{ke, ds, sa}
		}, true, `Node "w-1"`},
		{"an RSA key without key encipherment", func(c *csrCase) { c.key = rsaKey }, true, `Node "w-1"`},

		{"another signer", func(c *csrCase) { c.signer = certificatesv1.KubeAPIServerClientKubeletSignerName }, false, "is not kubernetes.io/kubelet-serving"},
		{"another node's name as requester (w-2 asking for w-1's subject)", func(c *csrCase) { c.user = "system:node:w-2" }, false, `subject CN "system:node:w-1" is not the requester "system:node:w-2"`},
		{"another node's name as subject", func(c *csrCase) { c.cn = "system:node:w-2" }, false, `subject CN "system:node:w-2" is not the requester`},
		{"another node's name and its Node (w-2 with w-1's SANs to a Node w-2 without them)", func(c *csrCase) {
			c.user, c.cn, c.node = "system:node:w-2", "system:node:w-2", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w-2"}}
		}, false, `DNS name "w-1" is not a Hostname, InternalDNS or ExternalDNS address of Node "w-2"`},
		{"a Node object that is not the requester's", func(c *csrCase) { c.node = w2 }, false, `Node "w-2" is not the requester's Node "w-1"`},
		{"an extra DNS SAN", func(c *csrCase) { c.dns = []string{"w-1", "kubernetes.default.svc"} }, false, `DNS name "kubernetes.default.svc" is not`},
		{"a foreign IP", func(c *csrCase) { c.ips = []string{"10.88.0.21", "10.88.0.11"} }, false, "IP address 10.88.0.11 is not an InternalIP or ExternalIP address"},
		{"the Node's name as an IP-less wildcard", func(c *csrCase) { c.dns = []string{"*.lab.example.com"} }, false, `DNS name "*.lab.example.com" is not`},
		{"client auth usage added", func(c *csrCase) { c.usages = []certificatesv1.KeyUsage{ds, sa, ca} }, false, "usages [client auth digital signature server auth] are not"},
		{"client auth instead of server auth", func(c *csrCase) { c.usages = []certificatesv1.KeyUsage{ds, ca} }, false, "are not [digital signature server auth]"},
		{"key encipherment with an ECDSA key", func(c *csrCase) { c.usages = []certificatesv1.KeyUsage{ds, ke, sa} }, false, "usages [digital signature key encipherment server auth] are not [digital signature server auth]"},
		{"a usage twice", func(c *csrCase) { c.usages = []certificatesv1.KeyUsage{ds, sa, sa} }, false, "are not"},
		{"a bootstrap token as requester", func(c *csrCase) {
			c.user, c.groups = "system:bootstrap:abcdef", []string{"system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token", "system:authenticated"}
		}, false, `requested by "system:bootstrap:abcdef"`},
		{"a user in system:nodes that is not a node", func(c *csrCase) { c.user = "alice"; c.groups = []string{"system:nodes"} }, false, `requested by "alice"`},
		{"a service account", func(c *csrCase) {
			c.user, c.groups = "system:serviceaccount:kube-system:default", []string{"system:serviceaccounts"}
		}, false, `not by a node`},
		{"a node user without the system:nodes group", func(c *csrCase) { c.groups = []string{"system:authenticated"} }, false, "is not in group system:nodes"},
		{"the node user with an empty node name", func(c *csrCase) { c.user = "system:node:" }, false, "not by a node"},
		{"O missing", func(c *csrCase) { c.orgs = nil }, false, "subject O [] is not [system:nodes]"},
		{"O with an extra group", func(c *csrCase) { c.orgs = []string{"system:nodes", "system:masters"} }, false, "subject O [system:nodes system:masters] is not"},
		{"an OU", func(c *csrCase) { c.ous = []string{"x"} }, false, "has attributes besides CN and O"},
		{"no SAN", func(c *csrCase) { c.dns, c.ips = nil, nil }, false, "no DNS or IP subject alternative name"},
		{"an email SAN", func(c *csrCase) { c.email = []string{"root@w-1"} }, false, "email and URI"},
		{"a URI SAN", func(c *csrCase) { c.uris = []string{"spiffe://cluster/ns/x"} }, false, "email and URI"},
		{"the Node does not exist", func(c *csrCase) { c.node = nil }, false, `Node "w-1" does not exist`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.change(&c)
			approve, reason := decide(c.build(t), c.node)
			if approve != tc.approve || !strings.Contains(reason, tc.reason) {
				t.Fatalf("decide = (%v, %q); want (%v, ...%q...)", approve, reason, tc.approve, tc.reason)
			}
		})
	}
}

func TestDecideRefusesARequestWhoseSignatureDoesNotVerify(t *testing.T) {
	csr := valid().build(t)
	block, _ := pem.Decode(csr.Spec.Request)
	block.Bytes[len(block.Bytes)-1] ^= 0xff
	csr.Spec.Request = pem.EncodeToMemory(block)
	if approve, reason := decide(csr, w1); approve || !(strings.Contains(reason, "signature does not verify") || strings.Contains(reason, "does not parse")) {
		t.Fatalf("decide = (%v, %q)", approve, reason)
	}
}

func TestDecideRefusesAnythingButOneCSRBlock(t *testing.T) {
	csr := valid().build(t)
	csr.Spec.Request = []byte("not PEM")
	if approve, reason := decide(csr, w1); approve || reason != "spec.request is not a PEM CERTIFICATE REQUEST" {
		t.Fatalf("decide = (%v, %q)", approve, reason)
	}
}

func TestDecidedSkipsApprovedDeniedFailedAndIssued(t *testing.T) {
	for _, c := range []certificatesv1.RequestConditionType{certificatesv1.CertificateApproved, certificatesv1.CertificateDenied, certificatesv1.CertificateFailed} {
		csr := &certificatesv1.CertificateSigningRequest{Status: certificatesv1.CertificateSigningRequestStatus{
			Conditions: []certificatesv1.CertificateSigningRequestCondition{{Type: c, Status: corev1.ConditionTrue}},
		}}
		if !decided(csr) {
			t.Errorf("a CSR with condition %s is not decided", c)
		}
	}
	if !decided(&certificatesv1.CertificateSigningRequest{Status: certificatesv1.CertificateSigningRequestStatus{Certificate: []byte("x")}}) {
		t.Error("an issued CSR is not decided")
	}
	if decided(&certificatesv1.CertificateSigningRequest{}) {
		t.Error("a pending CSR is decided")
	}
}
