using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PgArchive.Storage;

/// <summary>
/// <c>WALG_S3_CA_CERT_FILE</c>: s3rver behind a TLS terminator whose certificate is signed by a private CA made
/// for the test. The system does not trust that CA; the store does once it is given the CA's PEM file.
/// </summary>
public sealed class S3CustomCaTests(S3rverFixture server) : IAsyncLifetime
{
    private readonly string _caFile = Path.Combine(Path.GetTempPath(), "pgarchive-test-ca-" + Guid.NewGuid().ToString("N") + ".pem");
    private TlsProxy? _proxy;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        var (ca, leaf) = TestCertificates.Create();
        File.WriteAllText(_caFile, ca.ExportCertificatePem());
        ca.Dispose();
        var upstream = new Uri(server.Server["S3_ENDPOINT"]);
        _proxy = new TlsProxy(leaf, upstream.Port);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (_proxy is not null)
        {
            await _proxy.DisposeAsync();
        }

        File.Delete(_caFile);
    }

    private S3ObjectStoreOptions HttpsOptions()
    {
        var options = server.Options();
        options.ServiceUrl = $"https://127.0.0.1:{_proxy!.Port}";
        options.MaxRetries = 0;
        return options;
    }

    [Fact]
    public async Task Endpoint_signed_by_the_given_CA_is_trusted()
    {
        var options = HttpsOptions();
        options.CaCertificateFile = _caFile;
        using var store = new S3ObjectStore(options);

        await store.PutAsync("wal_005/over-tls", new MemoryStream([1, 2, 3, 4]), cancellationToken: Token);
        await using (var read = await store.OpenReadAsync("wal_005/over-tls", null, Token))
        {
            using var copy = new MemoryStream();
            await read.CopyToAsync(copy, Token);
            Assert.Equal([1, 2, 3, 4], copy.ToArray());
        }

        await store.DeleteAsync(["wal_005/over-tls"], Token);
        Assert.True(_proxy!.Handshakes > 0);
    }

    [Fact]
    public async Task Endpoint_signed_by_an_unknown_CA_is_refused_with_a_hint()
    {
        using var store = new S3ObjectStore(HttpsOptions());

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync("wal_005/x", new MemoryStream([1]), cancellationToken: Token));

        Assert.Equal(ObjectStoreErrorKind.Unavailable, ex.Kind);
        Assert.Contains("WALG_S3_CA_CERT_FILE", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>A CA and a certificate for 127.0.0.1 it signed.</summary>
    private static class TestCertificates
    {
        public static (X509Certificate2 Ca, X509Certificate2 Leaf) Create()
        {
            var now = DateTimeOffset.UtcNow;
            using var caKey = RSA.Create(2048);
            var caRequest = new CertificateRequest("CN=PgArchive test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
            var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(1));

            using var leafKey = RSA.Create(2048);
            var leafRequest = new CertificateRequest("CN=127.0.0.1", leafKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            names.AddDnsName("localhost");
            leafRequest.CertificateExtensions.Add(names.Build());
            leafRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
            leafRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
            leafRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
            using var leafPublic = leafRequest.Create(ca, now.AddHours(-1), now.AddHours(12), RandomNumberGenerator.GetBytes(8));
            using var withKey = leafPublic.CopyWithPrivateKey(leafKey);
            var leaf = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
            return (ca, leaf);
        }
    }

    /// <summary>Terminates TLS on a loopback port and forwards the bytes to a plain-HTTP upstream port.</summary>
    private sealed class TlsProxy : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly X509Certificate2 _certificate;
        private readonly int _upstreamPort;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private int _handshakes;

        public TlsProxy(X509Certificate2 certificate, int upstreamPort)
        {
            _certificate = certificate;
            _upstreamPort = upstreamPort;
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _loop = Task.Run(AcceptAsync);
        }

        public int Port { get; }

        public int Handshakes => Volatile.Read(ref _handshakes);

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }

                _ = Task.Run(() => ServeAsync(client));
            }
        }

        private async Task ServeAsync(TcpClient client)
        {
            using (client)
            {
                try
                {
                    await using var tls = new SslStream(client.GetStream());
                    await tls.AuthenticateAsServerAsync(_certificate);
                    Interlocked.Increment(ref _handshakes);
                    using var upstream = new TcpClient();
                    await upstream.ConnectAsync(IPAddress.Loopback, _upstreamPort, _stop.Token);
                    var plain = upstream.GetStream();
                    await Task.WhenAny(tls.CopyToAsync(plain, _stop.Token), plain.CopyToAsync(tls, _stop.Token));
                }
                catch (Exception ex) when (ex is IOException or AuthenticationException or SocketException or OperationCanceledException or ObjectDisposedException)
                {
                    // A refused handshake or a closed connection ends this connection only.
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _loop;
            _listener.Dispose();
            _certificate.Dispose();
            _stop.Dispose();
        }
    }
}
