using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Google.Cloud.Storage.V1;
using PgArchive.Storage.Conformance;

[assembly: AssemblyFixture(typeof(PgArchive.Storage.GcsEmulatorFixture))]

namespace PgArchive.Storage;

/// <summary>
/// One Cloud Storage emulator (shared/recipes/start-gcs.sh: firebase-tools' emulator behind the recipe's launcher) for
/// the whole test assembly, on a free loopback port. Each test works under its own prefix of one bucket. Fails loudly
/// when the emulator cannot start. The emulator keeps object metadata in memory: everything vanishes when it stops.
/// </summary>
public sealed class GcsEmulatorFixture : IAsyncLifetime
{
    private RecipeServer? _server;

    public string Endpoint => Server["GCS_ENDPOINT"];

    /// <summary>host:port, as STORAGE_EMULATOR_HOST is usually written.</summary>
    public string EmulatorHost => new Uri(Server["STORAGE_EMULATOR_HOST"]).Authority;

    public string Bucket => Server["GCS_BUCKET"];

    /// <summary>Where the emulator keeps object bytes (one file per object version).</summary>
    public string BlobDirectory => Path.Combine(Server["GCS_DIR"], "tmp", "firebase", "storage", "blobs");

    /// <summary>A client of the emulator, for checks behind the store's back.</summary>
    public StorageClient Client { get; private set; } = null!;

    private RecipeServer Server => _server ?? throw new InvalidOperationException("The GCS emulator has not started.");

    public async ValueTask InitializeAsync()
    {
        _server = await RecipeServer.StartAsync("start-gcs.sh",
            new Dictionary<string, string> { ["GCS_PORT"] = FreePort().ToString(CultureInfo.InvariantCulture) },
            TimeSpan.FromMinutes(8));
        Client = GcsObjectStore.CreateClient(new GcsObjectStoreOptions { EmulatorHost = EmulatorHost });
    }

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync(); // stops the server and removes its state (up to a GiB of blobs)
        }
    }

    /// <summary>Options that reach the emulator the way STORAGE_EMULATOR_HOST does.</summary>
    public GcsObjectStoreOptions Options(string prefix) => new()
    {
        BucketName = Bucket,
        Prefix = prefix,
        EmulatorHost = EmulatorHost,
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
