package fence

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// The storage's whole protocol: GET or PUT /count?token=T&count=N, over HTTP,
// so that a holder in another process reaches it as it would a real service.

// ServeHTTP answers the count, or 409 with the refusal.
func (s *Storage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, err := strconv.ParseInt(r.FormValue("token"), 10, 64)
	if err != nil {
		http.Error(w, "bad token", http.StatusBadRequest)
		return
	}
	count, _ := strconv.Atoi(r.FormValue("count"))
	n, err := s.Do(token, r.Method == http.MethodPut, count)
	if err != nil {
		http.Error(w, strings.TrimPrefix(err.Error(), ErrRefused.Error()+" "), http.StatusConflict)
		return
	}
	fmt.Fprint(w, n)
}

// Serve runs s on a free loopback port until stop.
func Serve(s *Storage) (url string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: s}
	go srv.Serve(l)
	return "http://" + l.Addr().String(), func() { srv.Close() }, nil
}

// Client is how a holder talks to the storage: every request carries its token.
type Client struct{ URL string }

func (c Client) Read(ctx context.Context, token int64) (int, error) {
	return c.do(ctx, http.MethodGet, token, 0)
}

func (c Client) Write(ctx context.Context, token int64, count int) error {
	_, err := c.do(ctx, http.MethodPut, token, count)
	return err
}

func (c Client) do(ctx context.Context, method string, token int64, count int) (int, error) {
	url := fmt.Sprintf("%s/count?token=%d&count=%d", c.URL, token, count)
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	text := strings.TrimSpace(string(body))
	switch resp.StatusCode {
	case http.StatusOK:
		return strconv.Atoi(text)
	case http.StatusConflict:
		return 0, fmt.Errorf("%w %s", ErrRefused, text)
	default:
		return 0, fmt.Errorf("storage: %s: %s", resp.Status, text)
	}
}
