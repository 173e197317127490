package main

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
)

const (
	nodeUserPrefix = "system:node:"
	nodesGroup     = "system:nodes"
)

// What a kubelet asks for (client-go's DefaultKubeletServingGetUsages, v0.36.3): key encipherment only with an RSA
// key, where TLS may encrypt the pre-master secret with it; an ECDSA key (the kubelet's default) cannot encipher.
var (
	servingUsages    = []string{string(certificatesv1.UsageDigitalSignature), string(certificatesv1.UsageServerAuth)}
	servingUsagesRSA = []string{string(certificatesv1.UsageDigitalSignature), string(certificatesv1.UsageKeyEncipherment), string(certificatesv1.UsageServerAuth)}
)

// nodeNameOf is the Node a CSR's requester speaks for, "" when the requester is not a node (a bootstrap token, a user,
// a service account): only then is there a Node to look up.
func nodeNameOf(csr *certificatesv1.CertificateSigningRequest) string {
	if !strings.HasPrefix(csr.Spec.Username, nodeUserPrefix) {
		return ""
	}
	return strings.TrimPrefix(csr.Spec.Username, nodeUserPrefix)
}

// decide approves a kubelet serving CSR only when everything in it is what the requesting node may claim: its own
// name as subject, serving usages, names and addresses its Node object lists (the rules of Gardener's approver and
// postfinance's kubelet-csr-approver). node is the Node named by the requester, nil when it does not exist. Any other
// CSR is refused with the first reason found, worded for the Denied condition and the event.
func decide(csr *certificatesv1.CertificateSigningRequest, node *corev1.Node) (bool, string) {
	spec := csr.Spec
	if spec.SignerName != certificatesv1.KubeletServingSignerName {
		return false, fmt.Sprintf("signer %q is not %s", spec.SignerName, certificatesv1.KubeletServingSignerName)
	}
	name := nodeNameOf(csr)
	if name == "" {
		return false, fmt.Sprintf("requested by %q (groups %v), not by a node (%s<name> in %s)", spec.Username, spec.Groups, nodeUserPrefix, nodesGroup)
	}
	if !slices.Contains(spec.Groups, nodesGroup) {
		return false, fmt.Sprintf("requester %q is not in group %s (groups %v)", spec.Username, nodesGroup, spec.Groups)
	}
	block, _ := pem.Decode(spec.Request)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return false, "spec.request is not a PEM CERTIFICATE REQUEST"
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return false, fmt.Sprintf("spec.request does not parse: %v", err)
	}
	if err := req.CheckSignature(); err != nil {
		return false, fmt.Sprintf("the request's signature does not verify: %v", err)
	}
	if req.Subject.CommonName != spec.Username {
		return false, fmt.Sprintf("subject CN %q is not the requester %q", req.Subject.CommonName, spec.Username)
	}
	if !slices.Equal(req.Subject.Organization, []string{nodesGroup}) {
		return false, fmt.Sprintf("subject O %v is not [%s]", req.Subject.Organization, nodesGroup)
	}
	if len(req.Subject.OrganizationalUnit)+len(req.Subject.Country)+len(req.Subject.Locality)+len(req.Subject.Province)+
		len(req.Subject.StreetAddress)+len(req.Subject.PostalCode) > 0 || req.Subject.SerialNumber != "" {
		return false, fmt.Sprintf("subject %q has attributes besides CN and O", req.Subject.String())
	}
	usages := make([]string, 0, len(spec.Usages))
	for _, u := range spec.Usages {
		usages = append(usages, string(u))
	}
	sort.Strings(usages)
	_, isRSA := req.PublicKey.(*rsa.PublicKey)
	if !slices.Equal(usages, servingUsages) && !(isRSA && slices.Equal(usages, servingUsagesRSA)) {
		want := fmt.Sprint(servingUsages)
		if isRSA {
			want += " or " + fmt.Sprint(servingUsagesRSA)
		}
		return false, fmt.Sprintf("usages %v are not %s", usages, want)
	}
	if len(req.EmailAddresses) > 0 || len(req.URIs) > 0 {
		return false, "email and URI subject alternative names are not allowed"
	}
	if len(req.DNSNames) == 0 && len(req.IPAddresses) == 0 {
		return false, "no DNS or IP subject alternative name"
	}
	if node == nil {
		return false, fmt.Sprintf("Node %q does not exist", name)
	}
	if node.Name != name {
		return false, fmt.Sprintf("Node %q is not the requester's Node %q", node.Name, name)
	}
	var dns []string
	var ips []net.IP
	for _, a := range node.Status.Addresses {
		switch a.Type {
		case corev1.NodeHostName, corev1.NodeInternalDNS, corev1.NodeExternalDNS:
			dns = append(dns, canonicalDNS(a.Address))
		case corev1.NodeInternalIP, corev1.NodeExternalIP:
			if ip := net.ParseIP(a.Address); ip != nil {
				ips = append(ips, ip)
			}
		}
	}
	for _, d := range req.DNSNames {
		if !slices.Contains(dns, canonicalDNS(d)) {
			return false, fmt.Sprintf("DNS name %q is not a Hostname, InternalDNS or ExternalDNS address of Node %q", d, name)
		}
	}
	for _, ip := range req.IPAddresses {
		if !slices.ContainsFunc(ips, ip.Equal) {
			return false, fmt.Sprintf("IP address %s is not an InternalIP or ExternalIP address of Node %q", ip, name)
		}
	}
	return true, fmt.Sprintf("kubelet serving certificate of Node %q: subject, usages and subject alternative names match the Node", name)
}

// canonicalDNS: DNS names compare case-insensitively, and a trailing dot names the same host.
func canonicalDNS(name string) string {
	return strings.TrimSuffix(strings.ToLower(name), ".")
}
