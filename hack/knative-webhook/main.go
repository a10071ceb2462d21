// Command knative-webhook runs Knative's own admission logic over manifests, without a cluster: for
// every object of a kind Knative's webhooks serve, it decodes strictly (unknown fields refused, as the
// webhooks do), calls the type's SetDefaults and then Validate in a create context carrying the
// config-* ConfigMaps a fresh Knative install has (embedded from the eventing and serving modules at
// build time; --configmaps adds or overrides some). Objects of other kinds pass through unchanged.
//
// Built by hack/build-bins.sh (component knative-webhook) in a wrapper module that requires the pinned
// knative.dev/eventing and knative.dev/serving; the configmaps/ folders are copied beside this file.
//
// Usage: knative-webhook [--configmaps FILE]... FILE...   ("-" reads standard input)
// Prints one JSON array, one entry per document: file, index, apiVersion, kind, name, namespace,
// checked (whether Knative validates this kind), errors, warnings and the defaulted object. Exits 1
// when any object has errors, 2 on unreadable input.
package main

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"knative.dev/pkg/apis"
	"knative.dev/pkg/configmap"
	"sigs.k8s.io/yaml"

	eventingconfig "knative.dev/eventing/pkg/apis/config"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/eventing/pkg/apis/feature"
	messagingconfig "knative.dev/eventing/pkg/apis/messaging/config"
	messagingv1 "knative.dev/eventing/pkg/apis/messaging/v1"
	sourcesconfig "knative.dev/eventing/pkg/apis/sources/config"
	sourcesv1 "knative.dev/eventing/pkg/apis/sources/v1"
	servingconfig "knative.dev/serving/pkg/apis/config"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

//go:embed configmaps
var embedded embed.FS

// resource is what Knative's admission webhooks call on the types they serve.
type resource interface {
	apis.Defaultable
	apis.Validatable
}

// The kinds of the eventing and serving webhooks pgfn uses or documents, by apiVersion and kind.
var kinds = map[string]func() resource{
	"eventing.knative.dev/v1 Broker":           func() resource { return &eventingv1.Broker{} },
	"eventing.knative.dev/v1 Trigger":          func() resource { return &eventingv1.Trigger{} },
	"messaging.knative.dev/v1 Channel":         func() resource { return &messagingv1.Channel{} },
	"messaging.knative.dev/v1 InMemoryChannel": func() resource { return &messagingv1.InMemoryChannel{} },
	"messaging.knative.dev/v1 Subscription":    func() resource { return &messagingv1.Subscription{} },
	"sources.knative.dev/v1 ApiServerSource":   func() resource { return &sourcesv1.ApiServerSource{} },
	"sources.knative.dev/v1 PingSource":        func() resource { return &sourcesv1.PingSource{} },
	"sources.knative.dev/v1 SinkBinding":       func() resource { return &sourcesv1.SinkBinding{} },
	"sources.knative.dev/v1 ContainerSource":   func() resource { return &sourcesv1.ContainerSource{} },
	"serving.knative.dev/v1 Service":           func() resource { return &servingv1.Service{} },
	"serving.knative.dev/v1 Configuration":     func() resource { return &servingv1.Configuration{} },
	"serving.knative.dev/v1 Route":             func() resource { return &servingv1.Route{} },
	"serving.knative.dev/v1 Revision":          func() resource { return &servingv1.Revision{} },
}

type result struct {
	File       string          `json:"file"`
	Index      int             `json:"index"`
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Name       string          `json:"name"`
	Namespace  string          `json:"namespace,omitempty"`
	Checked    bool            `json:"checked"`
	Errors     []string        `json:"errors"`
	Warnings   []string        `json:"warnings"`
	Object     json.RawMessage `json:"object"`
}

type configFiles []string

func (c *configFiles) String() string     { return strings.Join(*c, ",") }
func (c *configFiles) Set(v string) error { *c = append(*c, v); return nil }

func main() {
	var extra configFiles
	flag.Var(&extra, "configmaps", "a YAML file of ConfigMaps overriding the embedded defaults (repeatable)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: knative-webhook [--configmaps FILE]... FILE...")
		os.Exit(2)
	}
	eventingCtx, servingCtx, err := contexts(extra)
	if err != nil {
		fmt.Fprintln(os.Stderr, "knative-webhook:", err)
		os.Exit(2)
	}
	results := []result{}
	for _, file := range flag.Args() {
		docs, err := readDocuments(file)
		if err != nil {
			fmt.Fprintf(os.Stderr, "knative-webhook: %s: %v\n", file, err)
			os.Exit(2)
		}
		for i, doc := range docs {
			results = append(results, admit(eventingCtx, servingCtx, file, i, doc))
		}
	}
	out, _ := json.MarshalIndent(results, "", "  ")
	fmt.Println(string(out))
	for _, r := range results {
		if len(r.Errors) > 0 {
			os.Exit(1)
		}
	}
}

// admit does what the defaulting and then the validating webhook do on create.
func admit(eventingCtx, servingCtx context.Context, file string, index int, doc []byte) result {
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	r := result{File: file, Index: index, Errors: []string{}, Warnings: []string{}, Object: doc}
	if err := json.Unmarshal(doc, &meta); err != nil {
		r.Errors = append(r.Errors, err.Error())
		return r
	}
	r.APIVersion, r.Kind, r.Name, r.Namespace = meta.APIVersion, meta.Kind, meta.Metadata.Name, meta.Metadata.Namespace
	build, known := kinds[meta.APIVersion+" "+meta.Kind]
	if !known {
		// A Knative kind this tool does not know must not pass as checked.
		if group, _, _ := strings.Cut(meta.APIVersion, "/"); strings.HasSuffix(group, ".knative.dev") {
			r.Errors = append(r.Errors, fmt.Sprintf("%s %s is a Knative kind this tool does not check", meta.APIVersion, meta.Kind))
		}
		return r
	}
	r.Checked = true
	obj := build()
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		r.Errors = append(r.Errors, fmt.Sprintf("decoding: %v", err))
		return r
	}
	ctx := eventingCtx
	if strings.HasPrefix(meta.APIVersion, "serving.knative.dev/") {
		ctx = servingCtx
	}
	ctx = apis.WithinCreate(ctx)
	obj.SetDefaults(ctx)
	if fe := obj.Validate(ctx); fe != nil {
		if e := fe.Filter(apis.ErrorLevel); e != nil {
			r.Errors = append(r.Errors, strings.Split(e.Error(), "\n")...)
		}
		if w := fe.Filter(apis.WarningLevel); w != nil {
			r.Warnings = append(r.Warnings, strings.Split(w.Error(), "\n")...)
		}
	}
	r.Object = defaulted(obj)
	return r
}

// defaulted is the object as the defaulting webhook would store it: without status and the null
// creationTimestamp a typed round trip adds.
func defaulted(obj resource) json.RawMessage {
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return raw
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	out, _ := json.Marshal(m)
	return out
}

// contexts carries Knative's configuration like the webhooks' context decorators: eventing's broker,
// channel and ping defaults and feature flags; serving's defaults, features and autoscaler settings.
func contexts(extra []string) (context.Context, context.Context, error) {
	eventing, err := embeddedConfigMaps("configmaps/eventing")
	if err != nil {
		return nil, nil, err
	}
	serving, err := embeddedConfigMaps("configmaps/serving")
	if err != nil {
		return nil, nil, err
	}
	for _, f := range extra {
		cms, err := configMapsOf(f)
		if err != nil {
			return nil, nil, err
		}
		for _, cm := range cms {
			switch cm.Namespace {
			case "knative-serving":
				serving[cm.Name] = cm
			case "knative-eventing", "":
				eventing[cm.Name] = cm
			}
		}
	}
	log := &logger{}
	ev := configmap.NewStaticWatcher(values(eventing)...)
	sv := configmap.NewStaticWatcher(values(serving)...)
	defaults := eventingconfig.NewStore(log)
	channels := messagingconfig.NewStore(log)
	pings := sourcesconfig.NewStore(log)
	features := feature.NewStore(log)
	servingStore := servingconfig.NewStore(log)
	for _, w := range []struct {
		watch interface{ WatchConfigs(configmap.Watcher) }
		from  configmap.Watcher
	}{{defaults, ev}, {channels, ev}, {pings, ev}, {features, ev}, {servingStore, sv}} {
		if err := watch(w.watch, w.from); err != nil {
			return nil, nil, err
		}
	}
	if len(log.errors) > 0 {
		return nil, nil, errors.New(strings.Join(log.errors, "; "))
	}
	base := context.Background()
	eventingCtx := features.ToContext(channels.ToContext(pings.ToContext(defaults.ToContext(base))))
	return eventingCtx, servingStore.ToContext(base), nil
}

// watch turns a StaticWatcher's panic for a ConfigMap it lacks into an error.
func watch(store interface{ WatchConfigs(configmap.Watcher) }, from configmap.Watcher) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	store.WatchConfigs(from)
	return nil
}

func embeddedConfigMaps(dir string) (map[string]*corev1.ConfigMap, error) {
	out := map[string]*corev1.ConfigMap{}
	err := fs.WalkDir(embedded, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".yaml" {
			return err
		}
		data, err := embedded.ReadFile(p)
		if err != nil {
			return err
		}
		cms, err := parseConfigMaps(p, data)
		for _, cm := range cms {
			out[cm.Name] = cm
		}
		return err
	})
	return out, err
}

func configMapsOf(file string) ([]*corev1.ConfigMap, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return parseConfigMaps(file, data)
}

func parseConfigMaps(name string, data []byte) ([]*corev1.ConfigMap, error) {
	docs, err := splitDocuments(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var out []*corev1.ConfigMap
	for _, doc := range docs {
		cm := &corev1.ConfigMap{}
		if err := json.Unmarshal(doc, cm); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if cm.Kind == "ConfigMap" {
			out = append(out, cm)
		}
	}
	return out, nil
}

func values(m map[string]*corev1.ConfigMap) []*corev1.ConfigMap {
	out := make([]*corev1.ConfigMap, 0, len(m))
	for _, cm := range m {
		out = append(out, cm)
	}
	return out
}

func readDocuments(file string) ([][]byte, error) {
	var in io.Reader = os.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		in = f
	}
	return splitDocuments(in)
}

// splitDocuments returns every non-empty YAML (or JSON) document as JSON.
func splitDocuments(in io.Reader) ([][]byte, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(in))
	var out [][]byte
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, err
		}
		if t := bytes.TrimSpace(j); len(t) == 0 || bytes.Equal(t, []byte("null")) {
			continue
		}
		out = append(out, j)
	}
}

// logger collects what the config stores report; a ConfigMap that does not parse is an error.
type logger struct{ errors []string }

func (l *logger) Debugf(string, ...interface{}) {}
func (l *logger) Infof(string, ...interface{})  {}
func (l *logger) Errorf(f string, a ...interface{}) {
	l.errors = append(l.errors, fmt.Sprintf(f, a...))
}
func (l *logger) Fatalf(f string, a ...interface{}) {
	l.errors = append(l.errors, fmt.Sprintf(f, a...))
}
