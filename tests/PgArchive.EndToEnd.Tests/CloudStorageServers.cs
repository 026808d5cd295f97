using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Azure.Storage.Blobs;
using Google.Cloud.Storage.V1;
using PgArchive.Storage;
using PgArchive.Storage.Conformance;

namespace PgArchive.EndToEnd;

/// <summary>Azurite (shared/recipes/start-azurite.sh) on a free port for one test class, with one container.</summary>
public sealed class AzuriteServer : IAsyncLifetime
{
    private RecipeServer? _server;

    public const string ContainerName = "pgarchive-e2e";

    public string AccountName => Server["AZURE_STORAGE_ACCOUNT"];

    public string AccountKey => Server["AZURE_STORAGE_KEY"];

    public string BlobEndpoint => Server["AZURE_BLOB_ENDPOINT"];

    public string ConnectionString => Server["AZURE_STORAGE_CONNECTION_STRING"];

    public BlobContainerClient Container { get; private set; } = null!;

    private RecipeServer Server => _server ?? throw new InvalidOperationException("Azurite has not started.");

    public async ValueTask InitializeAsync()
    {
        _server = await RecipeServer.StartAsync("start-azurite.sh",
            new Dictionary<string, string> { ["AZURITE_PORT"] = CloudPorts.Free().ToString(CultureInfo.InvariantCulture) }, TimeSpan.FromMinutes(5));
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

    /// <summary>What a WAL-G user sets for Azure: prefix, account, key and (for Azurite) the blob endpoint.</summary>
    public Dictionary<string, string?> Settings(string folder) => new()
    {
        ["WALG_AZ_PREFIX"] = $"azure://{ContainerName}/{folder}",
        ["AZURE_STORAGE_ACCOUNT"] = AccountName,
        ["AZURE_STORAGE_ACCESS_KEY"] = AccountKey,
        ["AZURE_STORAGE_BLOB_ENDPOINT"] = BlobEndpoint,
    };
}

/// <summary>The Cloud Storage emulator (shared/recipes/start-gcs.sh) on a free port for one test class.</summary>
public sealed class GcsEmulatorServer : IAsyncLifetime
{
    private RecipeServer? _server;

    public string Bucket => Server["GCS_BUCKET"];

    public string EmulatorHost => Server["STORAGE_EMULATOR_HOST"];

    public StorageClient Client { get; private set; } = null!;

    private RecipeServer Server => _server ?? throw new InvalidOperationException("The GCS emulator has not started.");

    public async ValueTask InitializeAsync()
    {
        _server = await RecipeServer.StartAsync("start-gcs.sh",
            new Dictionary<string, string> { ["GCS_PORT"] = CloudPorts.Free().ToString(CultureInfo.InvariantCulture) }, TimeSpan.FromMinutes(8));
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

    /// <summary>What a WAL-G user sets for GCS against an emulator: prefix and STORAGE_EMULATOR_HOST.</summary>
    public Dictionary<string, string?> Settings(string folder) => new()
    {
        ["WALG_GS_PREFIX"] = $"gs://{Bucket}/{folder}",
        ["STORAGE_EMULATOR_HOST"] = EmulatorHost,
    };
}

internal static class CloudPorts
{
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Checks on a failed CLI run: one line, the exit code, the text, no stack trace and no secret.</summary>
internal static class CliAssert
{
    public static void CleanFailure(ProcessResult result, int exitCode, string expectedText, params string[] secrets)
    {
        Assert.True(result.ExitCode == exitCode, $"exit {result.ExitCode}, want {exitCode}; stderr: {result.Stderr}");
        Assert.Contains(expectedText, result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => line.StartsWith("pgarchive", StringComparison.Ordinal));
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, result.Stderr + result.Stdout, StringComparison.Ordinal);
        }
    }
}
