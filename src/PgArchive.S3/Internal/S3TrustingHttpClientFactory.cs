using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Amazon.Runtime;

namespace PgArchive.Storage;

/// <summary>
/// HTTP clients for the S3 SDK that also trust the CA certificates of a PEM file (<c>WALG_S3_CA_CERT_FILE</c>),
/// for S3-compatible servers behind a private CA. Host names are still checked.
/// </summary>
internal sealed class S3TrustingHttpClientFactory : HttpClientFactory, IDisposable
{
    private readonly X509Certificate2Collection _roots = [];
    private readonly Lock _lock = new();
    private HttpClient? _client;

    public S3TrustingHttpClientFactory(string caFile)
    {
        _roots.ImportFromPemFile(caFile);
        if (_roots.Count == 0)
        {
            throw new ArgumentException($"'{caFile}' (WALG_S3_CA_CERT_FILE) holds no PEM certificate.", nameof(caFile));
        }
    }

    public override HttpClient CreateHttpClient(IClientConfig clientConfig)
    {
        ArgumentNullException.ThrowIfNull(clientConfig);
        lock (_lock)
        {
            return _client ??= new HttpClient(new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                MaxConnectionsPerServer = clientConfig.MaxConnectionsPerServer ?? int.MaxValue,
                AllowAutoRedirect = false,
                SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = Validate },
            })
            {
                Timeout = clientConfig.Timeout ?? TimeSpan.FromSeconds(100),
            };
        }
    }

    public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

    public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;

    public void Dispose()
    {
        _client?.Dispose();
        foreach (var root in _roots)
        {
            root.Dispose();
        }
    }

    private bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        if (errors != SslPolicyErrors.RemoteCertificateChainErrors || certificate is null)
        {
            return false;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_roots);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements)
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        using var leaf = new X509Certificate2(certificate);
        return custom.Build(leaf);
    }
}
