package main

import (
	"errors"
	"net"
)

// roomAddress is the address learners type for a -listen host: the host
// itself, or, for every interface ("", 0.0.0.0, ::), this machine's first
// address on a network that is up and not loopback. [::] is no address a
// learner can type.
func roomAddress(host string) (string, error) {
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		return host, nil
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return "", err
	}
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 || iface.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := iface.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLinkLocalUnicast() {
				return n.IP.String(), nil
			}
		}
	}
	return "", errors.New("this machine has no network but loopback: give -listen 127.0.0.1:2379 to use it alone")
}
