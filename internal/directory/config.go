package directory

import (
	"crypto/x509"
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/store"
)

// Config is an org's directory as an admin sets it, with the bind password
// in the clear. It travels only between the admin service and Seal.
type Config struct {
	URL               string
	StartTLS          bool
	CACert            string
	BindDN            string
	BindPassword      string
	UserBaseDN        string
	UsernameAttribute string
	UserFilter        string
	EmailAttribute    string
	NameAttribute     string
	AdminGroupDN      string
}

// ErrInvalidConfig is a directory setting that cannot work; Field names it.
var ErrInvalidConfig = problem.Define(400, "invalid_directory", "The directory settings are not valid.")

var attrName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,63}$`)

func invalid(field, msg string) error {
	e := *ErrInvalidConfig
	e.Message, e.Field = msg, field
	return &e
}

// Defaults fills the attributes an admin left empty with those of an
// inetOrgPerson (uid, mail, cn).
func (c *Config) Defaults() {
	if c.UsernameAttribute == "" {
		c.UsernameAttribute = "uid"
	}
	if c.EmailAttribute == "" {
		c.EmailAttribute = "mail"
	}
	if c.NameAttribute == "" {
		c.NameAttribute = "cn"
	}
}

// Validate checks c: an ldaps:// URL, or an ldap:// URL with StartTLS (plain
// ldap:// only to a loopback address), a readable CA certificate, DNs and a
// filter the LDAP library can parse, and plain attribute names. The bind
// password is not checked (an update may keep the stored one).
func (c Config) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return invalid("url", "The directory URL must look like ldaps://host:port or ldap://host:port.")
	}
	switch u.Scheme {
	case "ldaps":
		if c.StartTLS {
			return invalid("start_tls", "StartTLS is for ldap:// URLs; ldaps:// is TLS from the start.")
		}
	case "ldap":
		if !c.StartTLS && !loopback(u.Hostname()) {
			return invalid("start_tls", "An ldap:// directory needs StartTLS unless it runs on this machine (loopback).")
		}
	default:
		return invalid("url", "The directory URL must start with ldaps:// or ldap://.")
	}
	if c.CACert != "" {
		if !x509.NewCertPool().AppendCertsFromPEM([]byte(c.CACert)) {
			return invalid("ca_cert", "The CA certificate is not a PEM certificate.")
		}
	}
	for field, dn := range map[string]string{"bind_dn": c.BindDN, "user_base_dn": c.UserBaseDN, "admin_group_dn": c.AdminGroupDN} {
		if dn == "" {
			continue
		}
		if _, err := ldap.ParseDN(dn); err != nil {
			return invalid(field, "This is not a distinguished name (like ou=people,dc=example,dc=org).")
		}
	}
	if c.UserBaseDN == "" {
		return invalid("user_base_dn", "The user search base is required.")
	}
	if c.BindDN == "" {
		return invalid("bind_dn", "A bind DN is required: anonymous searches are not supported.")
	}
	for field, a := range map[string]string{"username_attribute": c.UsernameAttribute, "email_attribute": c.EmailAttribute, "name_attribute": c.NameAttribute} {
		if !attrName.MatchString(a) {
			return invalid(field, "An attribute name is letters, digits and hyphens.")
		}
	}
	if c.UserFilter != "" {
		if _, err := ldap.CompileFilter(c.UserFilter); err != nil {
			return invalid("user_filter", "The user filter is not an LDAP filter (like (objectClass=person)).")
		}
	}
	return nil
}

// loopback reports whether host names this machine.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// FromStore returns the settings of d without the password.
func FromStore(d store.Directory) Config {
	return Config{URL: d.URL, StartTLS: d.StartTLS, CACert: d.CACert, BindDN: d.BindDN,
		UserBaseDN: d.UserBaseDN, UsernameAttribute: d.UsernameAttribute, UserFilter: d.UserFilter,
		EmailAttribute: d.EmailAttribute, NameAttribute: d.NameAttribute, AdminGroupDN: d.AdminGroupDN}
}

// BindPasswordAD is the additional data that binds a sealed bind password to
// its org, so a sealed value copied to another org's row does not open.
func BindPasswordAD(orgID string) []byte { return []byte("directory-bind:" + orgID) }

// Seal returns the store record of c for org orgID, the bind password
// sealed with keys.
func Seal(keys Keys, orgID string, c Config) (store.Directory, error) {
	sealed, kid, err := keys.Seal([]byte(c.BindPassword), BindPasswordAD(orgID))
	if err != nil {
		return store.Directory{}, err
	}
	return store.Directory{OrgID: orgID, URL: c.URL, StartTLS: c.StartTLS, CACert: c.CACert, BindDN: c.BindDN,
		BindPassword: sealed, KeyID: kid, UserBaseDN: c.UserBaseDN, UsernameAttribute: c.UsernameAttribute,
		UserFilter: c.UserFilter, EmailAttribute: c.EmailAttribute, NameAttribute: c.NameAttribute,
		AdminGroupDN: c.AdminGroupDN}, nil
}

// open returns the settings of d with its bind password opened.
func open(keys Keys, d store.Directory) (Config, error) {
	pw, err := keys.Open(d.BindPassword, d.KeyID, BindPasswordAD(d.OrgID))
	if err != nil {
		return Config{}, err
	}
	c := FromStore(d)
	c.BindPassword = string(pw)
	return c, nil
}
