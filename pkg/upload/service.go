package upload

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/xmppctl/xmppctl/internal/units"
	"github.com/xmppctl/xmppctl/pkg/disco"
)

// Service is the server's upload component.
type Service struct {
	JID     string
	MaxSize int64 // max-file-size from its disco#info form; 0 = not announced
}

// ErrNoService is returned when the server has no XEP-0363 service.
var ErrNoService = errors.New("the server offers no HTTP file upload service (XEP-0363)")

// Discover finds the upload service among the server's disco items and
// reads its max-file-size.
func Discover(ctx context.Context, c *disco.Cache) (*Service, error) {
	info, err := c.ServiceWithFeature(ctx, NS)
	if errors.Is(err, disco.ErrNoService) {
		return nil, ErrNoService
	}
	if err != nil {
		return nil, fmt.Errorf("find upload service: %w", err)
	}
	return ServiceFromInfo(info), nil
}

// ServiceFromInfo reads the service's limit from its disco#info. A
// missing or unparsable max-file-size means "not announced".
func ServiceFromInfo(info *disco.Info) *Service {
	svc := &Service{JID: info.JID}
	if f, ok := info.Form(NS); ok {
		if n, err := strconv.ParseInt(strings.TrimSpace(f.Value("max-file-size")), 10, 64); err == nil && n > 0 {
			svc.MaxSize = n
		}
	}
	return svc
}

// TooLargeError reports a file over the service's announced limit, found
// before anything was uploaded.
type TooLargeError struct {
	File      string
	Size, Max int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s: file too large: %s, the server accepts at most %s",
		e.File, units.Exact(e.Size), units.Exact(e.Max))
}

// Check refuses a size over the announced limit.
func (s *Service) Check(file string, size int64) error {
	if s.MaxSize > 0 && size > s.MaxSize {
		return &TooLargeError{File: file, Size: size, Max: s.MaxSize}
	}
	return nil
}
