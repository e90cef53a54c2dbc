// mrsproxy-client: the real WCF client stack against mrsmock's MRS Proxy (/EWS/mrsproxy.svc).
//
// What the cloud's migration service does to test an MRS Proxy endpoint (reference 4.3): a
// channel of IMailboxReplicationProxyService over a CustomBinding of a reliable session (WS-RM
// February 2005, ordered), SOAP 1.2 with WS-Addressing 1.0, and HTTPS with Windows (or Basic)
// authentication; it opens the session (CreateSequence), calls ExchangeVersionInformation, and
// closes the session as WCF does (LastMessage, TerminateSequence).
//
// It prints ONE line of JSON on standard output and exits 0 whatever happened (2: bad usage):
//   outcome        "ok", or "error" with stage ("open", "call", "close") and exception
//   exception      the exception WCF raised: type, message, and its inner exceptions in order
//   fault          for a FaultException: code, subcode, action, and the MRS fault's detail
//   serverVersion  what ExchangeVersionInformation returned
//   state          the channel's CommunicationState at the end
//
// Usage: mrsproxy-client --url URL --connect ADDR:PORT --ca FILE --auth negotiate|ntlm|basic
//                        --user USER --password PASSWORD [--domain DOMAIN] [--timeout SECONDS]
//   --connect  where TCP connects, whatever URL's host: no DNS, and the Host header and the TLS
//              SNI stay URL's host name, as with curl --resolve
//   --ca       the only root trusted for this process (PEM); the system store is not used
//   --timeout  open, send, receive and close timeouts (default 50, the migration service's)
using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.Serialization;
using System.Security.Cryptography.X509Certificates;
using System.ServiceModel;
using System.ServiceModel.Channels;
using System.ServiceModel.Description;
using System.ServiceModel.Dispatcher;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;

namespace MrsMock.Interop.Wcf
{
    internal static class Ns
    {
        // VersionInformation and MailboxReplicationServiceFault live in Exchange's MRS namespace
        public const string Mrs =
            "http://schemas.datacontract.org/2004/07/Microsoft.Exchange.MailboxReplicationService";
        public const string Types = "http://schemas.microsoft.com/exchange/services/2006/types";
    }

    // The MRS Proxy's contract (reference 4.2): session required, no namespace of its own, so
    // WCF's default http://tempuri.org/ and actions
    // http://tempuri.org/IMailboxReplicationProxyService/<Operation>[Response].
    [ServiceContract(Namespace = "http://tempuri.org/", SessionMode = SessionMode.Required)]
    public interface IMailboxReplicationProxyService
    {
        // The first call on every connection, and the connectivity test's only one.
        [OperationContract]
        [FaultContract(typeof(MailboxReplicationServiceFault))]
        void ExchangeVersionInformation(VersionInformation clientVersion,
                                        out VersionInformation serverVersion);
    }

    [DataContract(Namespace = Ns.Mrs)]
    public sealed class VersionInformation
    {
        [DataMember] public int BuildMajor { get; set; }
        [DataMember] public int BuildMinor { get; set; }
        [DataMember] public string ComputerName { get; set; }
        [DataMember] public int ProductMajor { get; set; }
        [DataMember] public int ProductMinor { get; set; }
        [DataMember] public byte[] SupportedCapabilities { get; set; }
    }

    // The members of the fault the client reads; the serializer skips the others.
    [DataContract(Namespace = Ns.Mrs)]
    public sealed class MailboxReplicationServiceFault
    {
        [DataMember] public int ErrorCode { get; set; }
        [DataMember] public string ExceptionType { get; set; }
        [DataMember] public string MessageDataNonLocalized { get; set; }
        [DataMember] public string MrsErrorType { get; set; }
    }

    // Hands WCF's HTTP transport a SocketsHttpHandler of our own, configured as WCF configured
    // its HttpClientHandler (credentials, pre-authentication, cookies, decompression), plus what
    // the tests need: TCP to a fixed address, and a chain built on the lab CA alone.
    internal sealed class LabHandlerBehavior : IEndpointBehavior
    {
        private readonly IPEndPoint _connect;
        private readonly X509Certificate2Collection _roots;

        public LabHandlerBehavior(IPEndPoint connect, X509Certificate2Collection roots)
        {
            _connect = connect;
            _roots = roots;
        }

        private HttpMessageHandler Create(HttpClientHandler wcf)
        {
            var policy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                // the migration service's default (.NET Framework: no CRL check unless asked)
                RevocationMode = X509RevocationMode.NoCheck,
            };
            policy.CustomTrustStore.AddRange(_roots);
            var h = new SocketsHttpHandler
            {
                Credentials = wcf.UseDefaultCredentials ? CredentialCache.DefaultCredentials
                                                        : wcf.Credentials,
                PreAuthenticate = wcf.PreAuthenticate,
                UseCookies = wcf.UseCookies,
                AutomaticDecompression = wcf.AutomaticDecompression,
                AllowAutoRedirect = wcf.AllowAutoRedirect,
                UseProxy = false,
                ConnectCallback = async (ctx, ct) =>
                {
                    var s = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    try
                    {
                        await s.ConnectAsync(_connect, ct).ConfigureAwait(false);
                        return new NetworkStream(s, ownsSocket: true);
                    }
                    catch
                    {
                        s.Dispose();
                        throw;
                    }
                },
            };
            if (wcf.UseCookies && wcf.CookieContainer != null)
                h.CookieContainer = wcf.CookieContainer;
            // No RemoteCertificateValidationCallback: SslStream validates against this policy
            // itself, so a refused certificate fails with .NET's own texts (chain status, name
            // mismatch) rather than "rejected by the provided callback".
            h.SslOptions.CertificateChainPolicy = policy;
            return new ExplicitHost { InnerHandler = h };
        }

        public void AddBindingParameters(ServiceEndpoint endpoint, BindingParameterCollection p)
        {
            p.Add(new Func<HttpClientHandler, HttpMessageHandler>(Create));
        }

        public void ApplyClientBehavior(ServiceEndpoint endpoint, ClientRuntime clientRuntime) { }
        public void ApplyDispatchBehavior(ServiceEndpoint endpoint, EndpointDispatcher d) { }
        public void Validate(ServiceEndpoint endpoint) { }
    }

    // Sets the Host header explicitly to the one the URL gives. The header on the wire is the
    // same, but for Negotiate and NTLM SocketsHttpHandler then takes the SPN's host name
    // (HTTP/mail.contoso.com) from it instead of asking DNS for the URL host's canonical name,
    // which the lab's names do not have.
    internal sealed class ExplicitHost : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request,
                                                               CancellationToken ct)
        {
            Uri u = request.RequestUri;
            request.Headers.Host = u.IsDefaultPort ? u.IdnHost : u.IdnHost + ":" + u.Port;
            return base.SendAsync(request, ct);
        }
    }

    // --trace: .NET's own networking traces (HTTP, authentication, TLS) on standard error.
    internal sealed class NetTrace : System.Diagnostics.Tracing.EventListener
    {
        protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource s)
        {
            if (s.Name.StartsWith("Private.InternalDiagnostics.System.Net", StringComparison.Ordinal))
                EnableEvents(s, System.Diagnostics.Tracing.EventLevel.Verbose);
        }

        protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
        {
            var sb = new StringBuilder(e.EventSource.Name).Append(' ').Append(e.EventName);
            if (e.Payload != null)
                foreach (var p in e.Payload)
                    sb.Append(" | ").Append(p);
            Console.Error.WriteLine(sb.ToString());
        }
    }

    internal static class Program
    {
        // The connectivity test's mailbox GUID (reference 4.3).
        private static readonly Guid ConnectivityTestMailbox =
            new Guid("2985c88d-e426-474b-b7c1-bae258c73db3");

        private static int Usage(string why)
        {
            Console.Error.WriteLine("mrsproxy-client: " + why);
            Console.Error.WriteLine("usage: mrsproxy-client --url URL --connect ADDR:PORT --ca FILE " +
                                    "--auth negotiate|ntlm|basic --user USER --password PASSWORD " +
                                    "[--domain DOMAIN] [--timeout SECONDS]");
            return 2;
        }

        private static Binding MigrationBinding(AuthenticationSchemes scheme, TimeSpan timeout,
                                                bool keepAlive)
        {
            var rm = new ReliableSessionBindingElement(ordered: true)
            {
                ReliableMessagingVersion = ReliableMessagingVersion.WSReliableMessagingFebruary2005,
            };
            var text = new TextMessageEncodingBindingElement(MessageVersion.Soap12WSAddressing10,
                                                             Encoding.UTF8);
            var https = new HttpsTransportBindingElement
            {
                AuthenticationScheme = scheme,
                MaxReceivedMessageSize = 10 * 1024 * 1024, // the MRS client's fault size limit
                // the migration service sends the front end's X-BackEndCookie back (reference
                // 4.3), so that a 2013+ front end keeps the session on the back end that holds it
                AllowCookies = true,
                // --keep-alive false: a connection per message, as WCF ends up with when a
                // device in between closes them (what a balancer without affinity then spreads)
                KeepAliveEnabled = keepAlive,
            };
            return new CustomBinding(rm, text, https)
            {
                OpenTimeout = timeout,
                SendTimeout = timeout,
                ReceiveTimeout = timeout,
                CloseTimeout = timeout,
            };
        }

        private static JsonObject Describe(Exception e)
        {
            var chain = new JsonArray();
            for (Exception i = e.InnerException; i != null; i = i.InnerException)
                chain.Add(new JsonObject { ["type"] = i.GetType().FullName, ["message"] = i.Message });
            var o = new JsonObject
            {
                ["type"] = e.GetType().FullName,
                ["message"] = e.Message,
                ["inner"] = chain,
            };
            if (e is FaultException fe)
            {
                var f = new JsonObject
                {
                    ["code"] = fe.Code?.Name,
                    ["subcode"] = fe.Code?.SubCode?.Name,
                    ["subcodeNamespace"] = fe.Code?.SubCode?.Namespace,
                    ["action"] = fe.Action,
                };
                if (e is FaultException<MailboxReplicationServiceFault> mf && mf.Detail != null)
                {
                    f["exceptionType"] = mf.Detail.ExceptionType;
                    f["mrsErrorType"] = mf.Detail.MrsErrorType;
                    f["messageDataNonLocalized"] = mf.Detail.MessageDataNonLocalized;
                }
                o["fault"] = f;
            }
            return o;
        }

        private static async Task<int> Main(string[] args)
        {
            var opt = new Dictionary<string, string>();
            for (int i = 0; i < args.Length; i++)
            {
                if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                    return Usage("bad argument " + args[i]);
                opt[args[i].Substring(2)] = args[++i];
            }
            foreach (var k in new[] { "url", "connect", "ca", "auth", "user", "password" })
                if (!opt.ContainsKey(k))
                    return Usage("missing --" + k);
            AuthenticationSchemes scheme;
            switch (opt["auth"].ToLowerInvariant())
            {
                case "negotiate": scheme = AuthenticationSchemes.Negotiate; break;
                case "ntlm": scheme = AuthenticationSchemes.Ntlm; break;
                case "basic": scheme = AuthenticationSchemes.Basic; break;
                default: return Usage("--auth is negotiate, ntlm or basic");
            }
            if (!IPEndPoint.TryParse(opt["connect"], out var connect))
                return Usage("--connect is ADDR:PORT");
            var timeout = TimeSpan.FromSeconds(
                opt.TryGetValue("timeout", out var t) ? double.Parse(t, System.Globalization.CultureInfo.InvariantCulture) : 50);
            using var trace = opt.ContainsKey("trace") ? new NetTrace() : null;
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(opt["ca"]);

            var result = new JsonObject { ["outcome"] = "error" };
            string stage = "open";
            var factory = new ChannelFactory<IMailboxReplicationProxyService>(
                MigrationBinding(scheme, timeout,
                                 !opt.TryGetValue("keep-alive", out var ka) || ka != "false"),
                new EndpointAddress(opt["url"]));
            factory.Endpoint.EndpointBehaviors.Add(new LabHandlerBehavior(connect, roots));
            opt.TryGetValue("domain", out var domain);
            if (scheme == AuthenticationSchemes.Basic)
            {
                factory.Credentials.UserName.UserName =
                    string.IsNullOrEmpty(domain) ? opt["user"] : domain + "\\" + opt["user"];
                factory.Credentials.UserName.Password = opt["password"];
            }
            else
            {
                // as the migration service sets them (reference 4.3)
                factory.Credentials.Windows.ClientCredential =
                    new NetworkCredential(opt["user"], opt["password"], domain ?? "");
                factory.Credentials.Windows.AllowedImpersonationLevel =
                    System.Security.Principal.TokenImpersonationLevel.Impersonation;
            }

            IMailboxReplicationProxyService proxy = null;
            var channel = default(IClientChannel);
            try
            {
                proxy = factory.CreateChannel();
                channel = (IClientChannel)proxy;
                await Task.Factory.FromAsync(channel.BeginOpen, channel.EndOpen, null);

                stage = "call";
                VersionInformation server;
                using (new OperationContextScope(channel))
                {
                    OperationContext.Current.OutgoingMessageHeaders.Add(
                        MessageHeader.CreateHeader("MailboxGuid", Ns.Types, ConnectivityTestMailbox));
                    var http = new HttpRequestMessageProperty();
                    http.Headers["X-ExchClientVersion"] = "15.20.6000.12";
                    OperationContext.Current.OutgoingMessageProperties[HttpRequestMessageProperty.Name] = http;
                    var client = new VersionInformation
                    {
                        ProductMajor = 15, ProductMinor = 20, BuildMajor = 6000, BuildMinor = 12,
                        ComputerName = "AM0PR01MB1234.eurprd01.prod.exchangelabs.com",
                        SupportedCapabilities = new byte[] { 0xff, 0xff, 0xff, 0xff, 0x0f },
                    };
                    // synchronous, as the migration service's proxy client calls it; off the
                    // thread pool's main path so that the reliable session's timers keep running
                    server = await Task.Run(() =>
                    {
                        proxy.ExchangeVersionInformation(client, out var v);
                        return v;
                    });
                }
                result["serverVersion"] = server == null ? null : new JsonObject
                {
                    ["ProductMajor"] = server.ProductMajor,
                    ["ProductMinor"] = server.ProductMinor,
                    ["BuildMajor"] = server.BuildMajor,
                    ["BuildMinor"] = server.BuildMinor,
                    ["ComputerName"] = server.ComputerName,
                    ["SupportedCapabilities"] = server.SupportedCapabilities == null ? null
                        : Convert.ToBase64String(server.SupportedCapabilities),
                };

                stage = "close";
                await Task.Factory.FromAsync(channel.BeginClose, channel.EndClose, null);
                await Task.Factory.FromAsync(factory.BeginClose, factory.EndClose, null);
                result["outcome"] = "ok";
            }
            catch (Exception e)
            {
                result["stage"] = stage;
                result["exception"] = Describe(e);
                channel?.Abort();
                factory.Abort();
            }
            result["state"] = channel?.State.ToString();
            Console.Out.WriteLine(result.ToJsonString(new JsonSerializerOptions
            {
                Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            }));
            return 0;
        }
    }
}
