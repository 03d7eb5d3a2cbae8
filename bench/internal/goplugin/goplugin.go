// Package goplugin is the peer the benchmarks compare clawd-go with: the
// same tool call made through hashicorp/go-plugin, once over net/rpc and
// once over gRPC. The plugin process is the program in ./peer, which the
// benchmark builds; this package holds both sides of each protocol.
//
// The gRPC service is declared by hand (a grpc.ServiceDesc and a codec
// writing the protobuf wire format with protowire), so building it needs no
// protoc or generated code; the bytes on the wire are what a generated
// message with three string fields would produce.
package goplugin

import (
	"context"
	"errors"
	"net/rpc"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/protobuf/encoding/protowire"
)

// Handshake is what the host and the peer program agree on.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "CLAWD_BENCH_PEER",
	MagicCookieValue: "tool-call",
}

// The protocol versions of the two plugin sets: go-plugin picks the
// transport by the set a version names.
const (
	VersionNetRPC = 1
	VersionGRPC   = 2
)

// PluginName is the one plugin the peer program serves.
const PluginName = "tool"

// Tool is the call being compared: on_tool_call's three strings in, a
// ClawaError-like code out.
type Tool interface {
	ToolCall(session, tool, input string) (int32, error)
}

// Impl is the plugin's side: like the C bench plugin, it reads each string
// and returns 0.
type Impl struct{ sink byte }

// ToolCall touches the first byte of each argument.
func (t *Impl) ToolCall(session, tool, input string) (int32, error) {
	if session == "" || tool == "" || input == "" {
		return 2, nil
	}
	t.sink = session[0] ^ tool[0] ^ input[0]
	return 0, nil
}

// Sets are the plugin sets by protocol version, for the peer program's
// plugin.ServeConfig.VersionedPlugins.
func Sets(impl Tool) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		VersionNetRPC: {PluginName: &RPCPlugin{Impl: impl}},
		VersionGRPC:   {PluginName: &GRPCPlugin{Impl: impl}},
	}
}

// Args is the net/rpc request.
type Args struct{ Session, Tool, Input string }

// RPCPlugin is the net/rpc form.
type RPCPlugin struct{ Impl Tool }

// Server is the plugin process's side.
func (p *RPCPlugin) Server(*plugin.MuxBroker) (any, error) { return &RPCServer{impl: p.Impl}, nil }

// Client is the host's side.
func (p *RPCPlugin) Client(_ *plugin.MuxBroker, c *rpc.Client) (any, error) {
	return &RPCClient{c: c}, nil
}

// RPCServer answers Plugin.ToolCall.
type RPCServer struct{ impl Tool }

// ToolCall is the net/rpc method.
func (s *RPCServer) ToolCall(a Args, code *int32) error {
	r, err := s.impl.ToolCall(a.Session, a.Tool, a.Input)
	*code = r
	return err
}

// RPCClient calls it.
type RPCClient struct{ c *rpc.Client }

// ToolCall makes the call over net/rpc.
func (c *RPCClient) ToolCall(session, tool, input string) (int32, error) {
	var code int32
	err := c.c.Call("Plugin.ToolCall", Args{session, tool, input}, &code)
	return code, err
}

// GRPCPlugin is the gRPC form.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Tool
}

// GRPCServer registers the hand-written service.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	s.RegisterService(&serviceDesc, p.Impl)
	return nil
}

// GRPCClient is the host's side.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &GRPCClient{c: c}, nil
}

const toolCallMethod = "/clawdbench.Tool/ToolCall"

var serviceDesc = grpc.ServiceDesc{
	ServiceName: "clawdbench.Tool",
	HandlerType: (*Tool)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "ToolCall",
		Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			var req Request
			if err := dec(&req); err != nil {
				return nil, err
			}
			code, err := srv.(Tool).ToolCall(req.Session, req.Tool, req.Input)
			return &Reply{Code: code}, err
		},
	}},
	Metadata: "clawdbench.proto",
}

// GRPCClient calls it.
type GRPCClient struct{ c *grpc.ClientConn }

// ToolCall makes the call over gRPC.
func (c *GRPCClient) ToolCall(session, tool, input string) (int32, error) {
	var rep Reply
	err := c.c.Invoke(context.Background(), toolCallMethod, &Request{session, tool, input}, &rep,
		grpc.CallContentSubtype(codecName))
	return rep.Code, err
}

// Request is message Request { string session = 1; string tool = 2; string input = 3; }.
type Request struct{ Session, Tool, Input string }

// Reply is message Reply { int32 code = 1; }.
type Reply struct{ Code int32 }

// codecName is the content subtype both sides use: gRPC finds the codec
// by it in its registry, on the server as on the client.
const codecName = "clawdbench"

func init() { encoding.RegisterCodec(codec{}) }

// codec writes and reads Request and Reply in the protobuf wire format.
type codec struct{}

func (codec) Name() string { return codecName }

func (codec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case *Request:
		b := make([]byte, 0, 3*2+len(m.Session)+len(m.Tool)+len(m.Input)+6)
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, m.Session)
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, m.Tool)
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendString(b, m.Input)
		return b, nil
	case *Reply:
		var b []byte
		if m.Code != 0 {
			b = protowire.AppendTag(b, 1, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(int64(m.Code)))
		}
		return b, nil
	}
	return nil, errors.New("clawdbench codec: unknown message type")
}

func (codec) Unmarshal(data []byte, v any) error {
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
		switch m := v.(type) {
		case *Request:
			if typ != protowire.BytesType {
				return errors.New("clawdbench codec: Request field of the wrong type")
			}
			s, n := protowire.ConsumeString(data)
			if n < 0 {
				return protowire.ParseError(n)
			}
			data = data[n:]
			switch num {
			case 1:
				m.Session = s
			case 2:
				m.Tool = s
			case 3:
				m.Input = s
			}
		case *Reply:
			if num != 1 || typ != protowire.VarintType {
				return errors.New("clawdbench codec: bad Reply field")
			}
			x, n := protowire.ConsumeVarint(data)
			if n < 0 {
				return protowire.ParseError(n)
			}
			data = data[n:]
			m.Code = int32(x)
		default:
			return errors.New("clawdbench codec: unknown message type")
		}
	}
	return nil
}
