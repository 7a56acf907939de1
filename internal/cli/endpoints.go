package cli

import (
	"errors"
	"fmt"
	"strings"
)

// Endpoints splits a comma-separated list of client URLs, as etcdctl's
// --endpoints takes them: the empty list for "".
func Endpoints(s string) []string {
	var list []string
	for _, ep := range strings.Split(s, ",") {
		if ep = strings.TrimSpace(ep); ep != "" {
			list = append(list, ep)
		}
	}
	return list
}

// CheckEndpoints refuses a list with no URL, or one that is neither
// http(s)://host:port nor host:port.
func CheckEndpoints(s string) error {
	if len(Endpoints(s)) == 0 {
		return errors.New("no URL in it")
	}
	for _, ep := range Endpoints(s) {
		hostPort := ep
		if scheme, rest, ok := strings.Cut(ep, "://"); ok {
			if scheme != "http" && scheme != "https" {
				return fmt.Errorf("%q: not http:// or https://", ep)
			}
			hostPort = strings.TrimSuffix(rest, "/")
		}
		if _, _, err := SplitHostPort(hostPort); errors.As(err, new(badPort)) {
			return fmt.Errorf("%q: %v", ep, err)
		} else if err != nil {
			return fmt.Errorf("%q is not a URL such as http://127.0.0.1:2379", ep)
		}
	}
	return nil
}

// EndpointsValue is a flag such as -endpoints: a list of http(s)://host:port
// or host:port, checked as it is set.
type EndpointsValue string

func (v *EndpointsValue) String() string { return string(*v) }

func (v *EndpointsValue) Set(s string) error {
	if err := CheckEndpoints(s); err != nil {
		return err
	}
	*v = EndpointsValue(s)
	return nil
}
