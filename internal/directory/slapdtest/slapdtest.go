// Package slapdtest runs a real OpenLDAP server (Debian's slapd) for tests:
// a generated slapd.conf, a seed LDIF loaded with slapadd, a test CA and
// server certificate made here, TLS required for every operation (clients
// use StartTLS), on a free loopback port.
//
// Start skips the test when slapd is not installed, unless the environment
// sets TWOFOLD_REQUIRE_SLAPD=1 (CI does), in which case it fails.
package slapdtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// The seed's names. Every user's password is its username followed by
// "-pw" (dana: dana-pw).
const (
	BaseDN        = "dc=example,dc=org"
	PeopleDN      = "ou=people," + BaseDN
	AdminGroupDN  = "cn=twofold-admins,ou=groups," + BaseDN
	AdminDN       = "cn=admin," + BaseDN // the rootdn, for changing the directory in tests
	AdminPassword = "admin-secret"
	ServiceDN     = "cn=twofold,ou=services," + BaseDN
	ServicePW     = "service-secret"
	UserFilter    = "(objectClass=inetOrgPerson)"
)

// Seed is the default directory: dana and erin (erin is in the admin
// group), and the service account.
const Seed = `dn: dc=example,dc=org
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,dc=example,dc=org
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=example,dc=org
objectClass: organizationalUnit
ou: groups

dn: ou=services,dc=example,dc=org
objectClass: organizationalUnit
ou: services

dn: cn=twofold,ou=services,dc=example,dc=org
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: twofold
userPassword: service-secret

dn: uid=dana,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: dana
cn: Dana Scully
sn: Scully
mail: dana@example.org
userPassword: dana-pw

dn: uid=erin,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: erin
cn: Erin Admin
sn: Admin
mail: erin@example.org
userPassword: erin-pw

dn: cn=twofold-admins,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: twofold-admins
member: uid=erin,ou=people,dc=example,dc=org
`

// A Server is one running slapd.
type Server struct {
	URL    string // ldap://127.0.0.1:PORT (StartTLS required)
	CACert string // PEM of the CA that signed the server certificate

	t    testing.TB
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs slapd with seed (Seed when empty) until the test ends.
func Start(t testing.TB, seed string) *Server {
	t.Helper()
	slapd, err := exec.LookPath("slapd")
	if err != nil {
		slapd = "/usr/sbin/slapd"
		if _, err := os.Stat(slapd); err != nil {
			if os.Getenv("TWOFOLD_REQUIRE_SLAPD") == "1" {
				t.Fatal("slapd is not installed and TWOFOLD_REQUIRE_SLAPD=1")
			}
			t.Skip("slapd is not installed (apt-get install slapd ldap-utils); set TWOFOLD_REQUIRE_SLAPD=1 to fail instead")
		}
	}
	if seed == "" {
		seed = Seed
	}
	dir := t.TempDir()
	s := &Server{t: t, dir: dir, port: freePort(t)}
	s.URL = fmt.Sprintf("ldap://127.0.0.1:%d", s.port)
	s.CACert = writeCerts(t, dir)
	must(t, os.MkdirAll(filepath.Join(dir, "data"), 0o700))
	must(t, os.WriteFile(filepath.Join(dir, "slapd.conf"), []byte(config(dir)), 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "ad.schema"), []byte(adSchema), 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "seed.ldif"), []byte(seed), 0o600))
	slapadd := filepath.Join(filepath.Dir(slapd), "slapadd")
	if out, err := exec.Command(slapadd, "-f", filepath.Join(dir, "slapd.conf"), "-l", filepath.Join(dir, "seed.ldif")).CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}
	s.start(slapd)
	t.Cleanup(s.Stop)
	return s
}

// adSchema gives OpenLDAP Active Directory's userAccountControl (with AD's
// OID), so tests can disable an account the way AD does.
const adSchema = `attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.99999.1.1 NAME 'twofoldTestADUser' AUXILIARY MAY userAccountControl )
`

func config(dir string) string {
	return strings.NewReplacer("DIR", dir).Replace(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include DIR/ad.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile DIR/slapd.pid
argsfile DIR/slapd.args
TLSCACertificateFile DIR/ca.pem
TLSCertificateFile DIR/server.pem
TLSCertificateKeyFile DIR/server.key
security tls=1
database mdb
maxsize 16777216
suffix "dc=example,dc=org"
rootdn "cn=admin,dc=example,dc=org"
rootpw admin-secret
directory DIR/data
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
`)
}

func (s *Server) start(slapd string) {
	s.t.Helper()
	// -d keeps slapd in the foreground, so the test owns the process.
	s.cmd = exec.Command(slapd, "-f", filepath.Join(s.dir, "slapd.conf"), "-h", s.URL+"/", "-d", "0")
	var out bytes.Buffer
	s.cmd.Stdout, s.cmd.Stderr = &out, &out
	must(s.t, s.cmd.Start())
	done := make(chan struct{})
	s.done = done
	go func() { s.cmd.Wait(); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			s.t.Fatalf("slapd exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("slapd did not start listening: %v\n%s", err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop stops slapd (the directory becomes unreachable); the data stays.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Restart starts slapd again on the same port with the same data.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	slapd, err := exec.LookPath("slapd")
	if err != nil {
		slapd = "/usr/sbin/slapd"
	}
	s.start(slapd)
}

// Admin runs fn on a connection bound as the directory's rootdn over
// StartTLS, for changing entries in a test.
func (s *Server) Admin(fn func(c *ldap.Conn) error) {
	s.t.Helper()
	c, err := ldap.DialURL(s.URL)
	must(s.t, err)
	defer c.Close()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(s.CACert))
	must(s.t, c.StartTLS(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}))
	must(s.t, c.Bind(AdminDN, AdminPassword))
	must(s.t, fn(c))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// writeCerts makes a CA and a server certificate for 127.0.0.1 and
// localhost in dir, and returns the CA's PEM.
func writeCerts(t testing.TB, dir string) string {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Twofold test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	must(t, err)
	ca, err := x509.ParseCertificate(caDER)
	must(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	must(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	must(t, err)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	must(t, os.WriteFile(filepath.Join(dir, "ca.pem"), caPEM, 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "server.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "server.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	return string(caPEM)
}
