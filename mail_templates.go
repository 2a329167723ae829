package ginauth

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"
)

// MailKind names one of the mails ginauth sends.
type MailKind string

// The mails ginauth sends.
const (
	// MailVerify carries a link to verify an address: after register, after
	// POST /request-verify-token, and after an email change (to the new
	// address).
	MailVerify MailKind = "verify"
	// MailResetPassword carries a link to choose a new password.
	MailResetPassword MailKind = "reset_password"
	// MailEmailChanged tells the OLD address that the account's email
	// changed, to NewEmail.
	MailEmailChanged MailKind = "email_changed"
	// MailPasswordChanged tells the user that the password changed (PATCH
	// /users/me or a reset).
	MailPasswordChanged MailKind = "password_changed"
)

// MailData is what a mail template sees.
type MailData struct {
	Email    string        // the address the mail goes to
	Link     string        // the verify or reset link ("" for notices)
	NewEmail string        // MailEmailChanged: the new address
	ValidFor time.Duration // how long Link works
	AppURL   string        // Config.BaseURL
}

// ValidForText returns ValidFor for people: "30 minutes", "1 hour",
// "24 hours", "7 days", "1 hour 30 minutes"; "" when ValidFor is not
// positive. Templates write {{.ValidForText}}.
func (d MailData) ValidForText() string {
	v := d.ValidFor
	switch {
	case v <= 0:
		return ""
	case v < time.Minute:
		return plural(int64((v+time.Second-1)/time.Second), "second")
	}
	v = v.Round(time.Minute)
	const day = 24 * time.Hour
	if v >= 2*day && v%day == 0 {
		return plural(int64(v/day), "day")
	}
	h, m := int64(v/time.Hour), int64(v%time.Hour/time.Minute)
	switch {
	case h == 0:
		return plural(m, "minute")
	case m == 0:
		return plural(h, "hour")
	}
	return plural(h, "hour") + " " + plural(m, "minute")
}

// plural returns "1 hour", "2 hours".
func plural(n int64, unit string) string {
	s := strconv.FormatInt(n, 10) + " " + unit
	if n != 1 {
		s += "s"
	}
	return s
}

// MailTemplate renders one kind of mail. Its templates see a MailData.
type MailTemplate struct {
	// Subject is a text/template string; line breaks and runs of spaces in
	// the result become one space.
	Subject string
	// Text renders the text/plain body. Required.
	Text *texttemplate.Template
	// HTML renders the text/html body; html/template escapes Link and the
	// addresses. Nil means a text-only mail.
	HTML *htmltemplate.Template
}

// MailTemplates maps each kind of mail to its template. Config.MailTemplates
// need only hold the kinds it replaces.
type MailTemplates map[MailKind]MailTemplate

// DefaultMailTemplates returns ginauth's own templates: English, plain and
// short, with no external images or CSS. Each call returns fresh templates
// the caller may change.
func DefaultMailTemplates() MailTemplates {
	t := make(MailTemplates, len(defaultMailSources))
	for kind, src := range defaultMailSources {
		t[kind] = MailTemplate{
			Subject: src.subject,
			Text:    texttemplate.Must(texttemplate.New(string(kind)).Parse(src.text)),
			HTML:    htmltemplate.Must(htmltemplate.New(string(kind)).Parse(htmlHead + src.html + htmlFoot)),
		}
	}
	return t
}

// Render builds the Mail of kind to data.Email. A kind missing from t
// (or a nil t) falls back to DefaultMailTemplates.
func (t MailTemplates) Render(kind MailKind, data MailData) (*Mail, error) {
	tmpl, ok := t[kind]
	if !ok {
		c, ok := compiledDefaults()[kind]
		if !ok {
			return nil, fmt.Errorf("ginauth: no mail template for %q", kind)
		}
		return c.render(kind, data)
	}
	c, err := compileTemplate(kind, tmpl)
	if err != nil {
		return nil, err
	}
	return c.render(kind, data)
}

// compiledTemplate is a MailTemplate checked, its Subject parsed.
type compiledTemplate struct {
	subject, text *texttemplate.Template
	html          *htmltemplate.Template
}

// compileTemplate checks tmpl, the template of kind, and parses its Subject.
func compileTemplate(kind MailKind, tmpl MailTemplate) (compiledTemplate, error) {
	if tmpl.Subject == "" || tmpl.Text == nil {
		return compiledTemplate{}, fmt.Errorf("ginauth: mail template %q needs a Subject and a Text", kind)
	}
	subject, err := texttemplate.New("subject").Parse(tmpl.Subject)
	if err != nil {
		return compiledTemplate{}, fmt.Errorf("ginauth: mail template %q: subject: %w", kind, err)
	}
	return compiledTemplate{subject: subject, text: tmpl.Text, html: tmpl.HTML}, nil
}

// render builds the Mail of kind to data.Email.
func (c compiledTemplate) render(kind MailKind, data MailData) (*Mail, error) {
	var b bytes.Buffer
	if err := c.subject.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("ginauth: mail template %q: subject: %w", kind, err)
	}
	m := &Mail{To: data.Email, Subject: strings.Join(strings.Fields(b.String()), " ")}
	b.Reset()
	if err := c.text.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("ginauth: mail template %q: text: %w", kind, err)
	}
	m.Text = b.String()
	if c.html != nil {
		b.Reset()
		if err := c.html.Execute(&b, data); err != nil {
			return nil, fmt.Errorf("ginauth: mail template %q: html: %w", kind, err)
		}
		m.HTML = b.String()
	}
	return m, nil
}

// mailRenderer holds the template of every kind of mail ginauth sends.
type mailRenderer map[MailKind]compiledTemplate

// compiledDefaults are DefaultMailTemplates compiled, once, never handed
// out.
var compiledDefaults = sync.OnceValue(func() mailRenderer {
	r, err := MailTemplates(nil).compile()
	if err != nil {
		panic(err) // the defaults are ginauth's own
	}
	return r
})

// sampleMailData is what compile renders every template with.
var sampleMailData = MailData{Email: "user@example.com", Link: "https://example.com/verify?token=t",
	NewEmail: "new@example.com", ValidFor: time.Hour, AppURL: "https://example.com"}

// compile checks t for New: every kind in it must be one ginauth sends,
// and every template must render a sample MailData, so that a broken
// template fails New instead of losing mail later, in the background.
// The kinds t lacks take the defaults. The error names the kind.
func (t MailTemplates) compile() (mailRenderer, error) {
	r, defaults := mailRenderer{}, DefaultMailTemplates()
	for _, kind := range slices.Sorted(maps.Keys(defaults)) {
		tmpl, ok := t[kind]
		if !ok {
			tmpl = defaults[kind]
		}
		c, err := compileTemplate(kind, tmpl)
		if err == nil {
			_, err = c.render(kind, sampleMailData)
		}
		if err != nil {
			return nil, err
		}
		r[kind] = c
	}
	for _, kind := range slices.Sorted(maps.Keys(t)) {
		if _, ok := r[kind]; !ok {
			return nil, fmt.Errorf("ginauth: mail template %q: not a kind of mail ginauth sends", kind)
		}
	}
	return r, nil
}

// render builds the Mail of kind to data.Email.
func (r mailRenderer) render(kind MailKind, data MailData) (*Mail, error) {
	c, ok := r[kind]
	if !ok {
		return nil, fmt.Errorf("ginauth: no mail template for %q", kind)
	}
	return c.render(kind, data)
}

// mailSource is the source of one default template.
type mailSource struct{ subject, text, html string }

const (
	htmlHead = `<!DOCTYPE html>
<html><head><meta charset="utf-8"></head>
<body style="font-family: sans-serif; line-height: 1.5">
`
	htmlFoot = `</body></html>
`
)

var defaultMailSources = map[MailKind]mailSource{
	MailVerify: {
		subject: "Verify your email address",
		text: `Hello,

Please confirm that {{.Email}} is your email address by opening this link:

{{.Link}}

{{with .ValidForText}}The link works for {{.}}.

{{end}}If you did not ask for this, ignore this mail.
`,
		html: `<p>Hello,</p>
<p>Please confirm that {{.Email}} is your email address by opening this link:</p>
<p><a href="{{.Link}}">Verify my email address</a></p>
<p>Or copy it into your browser: {{.Link}}</p>
{{with .ValidForText}}<p>The link works for {{.}}.</p>
{{end}}<p>If you did not ask for this, ignore this mail.</p>
`,
	},
	MailResetPassword: {
		subject: "Reset your password",
		text: `Hello,

Someone asked to reset the password of the account {{.Email}}. To choose a new password, open this link:

{{.Link}}

{{with .ValidForText}}The link works for {{.}}.

{{end}}If it wasn't you, ignore this mail: your password stays as it is.
`,
		html: `<p>Hello,</p>
<p>Someone asked to reset the password of the account {{.Email}}. To choose a new password, open this link:</p>
<p><a href="{{.Link}}">Choose a new password</a></p>
<p>Or copy it into your browser: {{.Link}}</p>
{{with .ValidForText}}<p>The link works for {{.}}.</p>
{{end}}<p>If it wasn't you, ignore this mail: your password stays as it is.</p>
`,
	},
	MailEmailChanged: {
		subject: "Your email address was changed",
		text: `Hello,

The email address of your account{{if .AppURL}} at {{.AppURL}}{{end}} was changed from {{.Email}} to {{.NewEmail}}.

If you made this change, there is nothing to do. If it wasn't you, someone else may control your account: contact the service's support at once, from this address.
`,
		html: `<p>Hello,</p>
<p>The email address of your account{{if .AppURL}} at {{.AppURL}}{{end}} was changed from {{.Email}} to {{.NewEmail}}.</p>
<p>If you made this change, there is nothing to do. If it wasn't you, someone else may control your account: contact the service's support at once, from this address.</p>
`,
	},
	MailPasswordChanged: {
		subject: "Your password was changed",
		text: `Hello,

The password of your account {{.Email}}{{if .AppURL}} at {{.AppURL}}{{end}} was changed.

If you made this change, there is nothing to do. If it wasn't you, reset your password at once with "Forgot password", and contact the service's support.
`,
		html: `<p>Hello,</p>
<p>The password of your account {{.Email}}{{if .AppURL}} at {{.AppURL}}{{end}} was changed.</p>
<p>If you made this change, there is nothing to do. If it wasn't you, reset your password at once with "Forgot password", and contact the service's support.</p>
`,
	},
}
