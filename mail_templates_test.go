package ginauth

import (
	htmltemplate "html/template"
	"strings"
	"testing"
	texttemplate "text/template"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testTemplateLink = "https://app.example.com/verify?token=abc.DEF_123-x"

func TestMailTemplatesRenderDefaults(t *testing.T) {
	defaults := DefaultMailTemplates()
	require.Len(t, defaults, 4)
	for _, tc := range []struct {
		kind MailKind
		data MailData
		want []string // in both Text and HTML
	}{
		{MailVerify, MailData{Link: testTemplateLink, ValidFor: time.Hour}, []string{testTemplateLink, "1 hour"}},
		{MailResetPassword, MailData{Link: testTemplateLink, ValidFor: 30 * time.Minute}, []string{testTemplateLink, "30 minutes", "it wasn"}},
		{MailEmailChanged, MailData{NewEmail: "new@example.org"}, []string{"new@example.org", "it wasn"}},
		{MailPasswordChanged, MailData{}, []string{"changed", "it wasn"}},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			require.Contains(t, defaults, tc.kind)
			tc.data.Email, tc.data.AppURL = "old@example.org", "https://app.example.com"
			for name, templates := range map[string]MailTemplates{"defaults": defaults, "nil": nil, "empty": {}} {
				m, err := templates.Render(tc.kind, tc.data)
				require.NoError(t, err, name)
				assert.Equal(t, "old@example.org", m.To)
				assert.NotEmpty(t, m.Subject)
				assert.NotContains(t, m.Subject, "\n")
				assert.Contains(t, m.Text, "old@example.org")
				assert.Contains(t, m.HTML, "old@example.org")
				for _, w := range tc.want {
					assert.Contains(t, m.Text, w)
					assert.Contains(t, strings.ReplaceAll(m.HTML, "&#39;", "'"), w)
				}
				assert.NotContains(t, m.HTML, "http://", "external resource in HTML")
				assert.NotContains(t, m.HTML, "<img")
			}
		})
	}
}

func TestMailTemplatesHTMLEscapes(t *testing.T) {
	m, err := DefaultMailTemplates().Render(MailVerify, MailData{
		Email: `"<script>"@x`,
		Link:  "javascript:alert(1)",
	})
	require.NoError(t, err)
	assert.NotContains(t, m.HTML, "<script>")
	assert.Contains(t, m.HTML, "&lt;script&gt;")
	assert.NotContains(t, m.HTML, `href="javascript:`)
	assert.Contains(t, m.Text, `"<script>"@x`, "text is not HTML")

	m, err = DefaultMailTemplates().Render(MailEmailChanged, MailData{Email: "a@x", NewEmail: `"<b>"@x`})
	require.NoError(t, err)
	assert.NotContains(t, m.HTML, "<b>")
}

func TestMailTemplatesReplaceOneKind(t *testing.T) {
	custom := MailTemplates{MailVerify: {
		Subject: "Bitte bestätigen: {{.Email}}",
		Text:    texttemplate.Must(texttemplate.New("t").Parse("Link: {{.Link}}")),
		HTML:    htmltemplate.Must(htmltemplate.New("h").Parse(`<a href="{{.Link}}">Link</a>`)),
	}}
	m, err := custom.Render(MailVerify, MailData{Email: "a@x", Link: testTemplateLink})
	require.NoError(t, err)
	assert.Equal(t, "Bitte bestätigen: a@x", m.Subject)
	assert.Equal(t, "Link: "+testTemplateLink, m.Text)
	assert.Equal(t, `<a href="`+testTemplateLink+`">Link</a>`, m.HTML)

	m, err = custom.Render(MailResetPassword, MailData{Email: "a@x", Link: testTemplateLink})
	require.NoError(t, err)
	def, err := DefaultMailTemplates().Render(MailResetPassword, MailData{Email: "a@x", Link: testTemplateLink})
	require.NoError(t, err)
	assert.Equal(t, def, m)

	// Changing the map DefaultMailTemplates returned changes no one else's defaults.
	d := DefaultMailTemplates()
	delete(d, MailVerify)
	d[MailResetPassword] = custom[MailVerify]
	m, err = MailTemplates(nil).Render(MailResetPassword, MailData{Email: "a@x", Link: testTemplateLink})
	require.NoError(t, err)
	assert.Equal(t, def, m)
}

func TestMailTemplatesTextOnlyAndSubjectOnOneLine(t *testing.T) {
	custom := MailTemplates{MailPasswordChanged: {
		Subject: "Password\r\nchanged  for {{.Email}}\n",
		Text:    texttemplate.Must(texttemplate.New("t").Parse("changed")),
	}}
	m, err := custom.Render(MailPasswordChanged, MailData{Email: "a@x"})
	require.NoError(t, err)
	assert.Equal(t, "Password changed for a@x", m.Subject)
	assert.Empty(t, m.HTML)
}

// brokenMailTemplate is a template that must fail, for kind.
type brokenMailTemplate struct {
	name string
	kind MailKind
	tmpl MailTemplate
}

// brokenMailTemplates are the ways a custom template can be broken.
func brokenMailTemplates() []brokenMailTemplate {
	text := texttemplate.Must(texttemplate.New("t").Parse("{{.Link}}"))
	return []brokenMailTemplate{
		{"subject does not parse", MailResetPassword, MailTemplate{Subject: "{{.Email", Text: text}},
		{"subject field unknown", MailVerify, MailTemplate{Subject: "{{.Nope}}", Text: text}},
		{"text field unknown", MailEmailChanged, MailTemplate{Subject: "s", Text: texttemplate.Must(texttemplate.New("t").Parse("{{.Nope}}"))}},
		{"html field unknown", MailPasswordChanged, MailTemplate{Subject: "s", Text: text, HTML: htmltemplate.Must(htmltemplate.New("h").Parse("{{.Nope}}"))}},
		{"no text", MailVerify, MailTemplate{Subject: "s"}},
		{"no subject", MailVerify, MailTemplate{Text: text}},
		{"unknown kind", MailKind("welcome"), MailTemplate{Subject: "s", Text: text}},
	}
}

func TestMailTemplatesBrokenCustom(t *testing.T) {
	for _, tc := range brokenMailTemplates() {
		t.Run(tc.name, func(t *testing.T) {
			templates := MailTemplates{}
			if _, known := defaultMailSources[tc.kind]; known {
				templates[tc.kind] = tc.tmpl
			}
			m, err := templates.Render(tc.kind, MailData{Email: "a@x", Link: testTemplateLink})
			require.Error(t, err)
			assert.Nil(t, m)
			assert.Contains(t, err.Error(), string(tc.kind))
		})
	}
}

func TestMailDataValidForText(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                               "",
		-time.Hour:                      "",
		time.Second:                     "1 second",
		45 * time.Second:                "45 seconds",
		time.Minute:                     "1 minute",
		30 * time.Minute:                "30 minutes",
		time.Hour:                       "1 hour",
		90 * time.Minute:                "1 hour 30 minutes",
		time.Hour + 29*time.Second:      "1 hour",
		24 * time.Hour:                  "24 hours",
		25 * time.Hour:                  "25 hours",
		48 * time.Hour:                  "2 days",
		7 * 24 * time.Hour:              "7 days",
		7*24*time.Hour + 30*time.Minute: "168 hours 30 minutes",
	} {
		assert.Equal(t, want, MailData{ValidFor: d}.ValidForText(), d.String())
	}
}

// TestNewRefusesBrokenMailTemplates proves that New checks every
// configured mail template, failing with an error that names the kind,
// instead of losing the mail later in the background.
func TestNewRefusesBrokenMailTemplates(t *testing.T) {
	for _, tc := range brokenMailTemplates() {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Secret: testSecret, DatabaseURL: tempDatabaseURL(t), MailTemplates: MailTemplates{tc.kind: tc.tmpl}}
			_, err := newOrClose(t, cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), `"`+string(tc.kind)+`"`)
		})
	}
	t.Run("valid custom template", func(t *testing.T) {
		text := texttemplate.Must(texttemplate.New("t").Parse("{{.Link}}"))
		custom := MailTemplates{MailVerify: {Subject: "Hi {{.Email}}", Text: text}}
		a, err := newOrClose(t, Config{Secret: testSecret, Store: openTestStore(t, "sqlite"), MailTemplates: custom})
		require.NoError(t, err)
		m, err := a.mailTemplates.render(MailVerify, MailData{Email: "a@x", Link: "L"})
		require.NoError(t, err)
		assert.Equal(t, "Hi a@x", m.Subject)
		assert.Equal(t, "L", m.Text)
		_, err = a.mailTemplates.render(MailResetPassword, MailData{Email: "a@x", Link: "L"})
		require.NoError(t, err, "the other kinds keep the defaults")
	})
}
