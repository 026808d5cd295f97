using System.Net;
using System.Net.Sockets;
using Azure.Storage.Blobs;
using PgArchive.Storage.Conformance;

[assembly: AssemblyFixture(typeof(PgArchive.Storage.AzuriteFixture))]

namespace PgArchive.Storage;

/// <summary>
/// One Azurite (shared/recipes/start-azurite.sh) for the whole test assembly, on a free loopback port, with one
/// container the tests share (each test works under its own prefix). Fails loudly when Azurite cannot start.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private RecipeServer? _server;

    /// <summary>The container every test stores into.</summary>
    public const string ContainerName = "pgarchive-tests";

    public string ConnectionString => Server["AZURE_STORAGE_CONNECTION_STRING"];

    public string AccountName => Server["AZURE_STORAGE_ACCOUNT"];

    public string AccountKey => Server["AZURE_STORAGE_KEY"];

    public Uri BlobEndpoint => new(Server["AZURE_BLOB_ENDPOINT"]);

    /// <summary>A client of <see cref="ContainerName"/> with the account key (it can also sign SAS tokens).</summary>
    public BlobContainerClient Container { get; private set; } = null!;

    private RecipeServer Server => _server ?? throw new InvalidOperationException("Azurite has not started.");

    public async ValueTask InitializeAsync()
    {
        var port = FreePort();
        _server = await RecipeServer.StartAsync("start-azurite.sh",
            new Dictionary<string, string> { ["AZURITE_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            TimeSpan.FromMinutes(5));
        Container = new BlobContainerClient(ConnectionString, ContainerName);
        await Container.CreateIfNotExistsAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync(); // stops the server and removes its state (up to a GiB of blobs)
        }
    }

    /// <summary>Options that reach Azurite through its connection string.</summary>
    public AzureBlobObjectStoreOptions Options(string prefix, string container = ContainerName) => new()
    {
        ConnectionString = ConnectionString,
        ContainerName = container,
        Prefix = prefix,
        MaxRetries = 2,
        RetryDelay = TimeSpan.FromMilliseconds(100),
    };

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
