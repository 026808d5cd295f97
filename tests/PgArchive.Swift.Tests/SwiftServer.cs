using System.Globalization;
using PgArchive.Storage.Conformance;
using PgArchive.Storage.Testing;

namespace PgArchive.Storage;

/// <summary>The Swift all-in-one (v1 tempauth) for a test collection, on free ports, with a test container.</summary>
public sealed class SwiftSaioFixture : IAsyncLifetime
{
    private RecipeServer? _server;

    public const string ContainerName = "pgarchive-test";

    public RecipeServer Server => _server ?? throw new InvalidOperationException("The server has not started.");

    /// <summary>An HTTP client and a valid token for looking at the server directly.</summary>
    public HttpClient Http { get; } = new();

    public string Token { get; private set; } = "";

    public string StorageUrl => Server["SWIFT_STORAGE_URL"];

    public SwiftObjectStoreOptions Options(string? prefix = null) => new()
    {
        AuthUrl = Server["SWIFT_AUTH_URL"],
        Username = Server["SWIFT_USER"],
        Password = Server["SWIFT_KEY"],
        Container = ContainerName,
        Prefix = prefix ?? "t-" + Guid.NewGuid().ToString("N"),
        MaxRetries = 2,
        RetryDelay = TimeSpan.FromMilliseconds(100),
    };

    public async ValueTask InitializeAsync()
    {
        _server = await RecipeServer.StartAsync("start-swift-saio.sh", new Dictionary<string, string>
        {
            ["SWIFT_PORT"] = FreePorts.FindBlock(5).ToString(CultureInfo.InvariantCulture),
            ["SWIFT_LOG_LEVEL"] = "WARNING",
        });
        Token = await NewTokenAsync();
        await Conformance.SwiftContainer.CreateAsync(Http, StorageUrl, ContainerName, Token);
    }

    /// <summary>A fresh tempauth token.</summary>
    public async Task<string> NewTokenAsync()
    {
        using var auth = new HttpRequestMessage(HttpMethod.Get, Server["SWIFT_AUTH_URL"]);
        auth.Headers.Add("X-Auth-User", Server["SWIFT_USER"]);
        auth.Headers.Add("X-Auth-Key", Server["SWIFT_KEY"]);
        using var response = await Http.SendAsync(auth);
        response.EnsureSuccessStatusCode();
        return response.Headers.GetValues("X-Auth-Token").Single();
    }

    /// <summary>A raw request to the storage URL with the fixture's token.</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path)
    {
        using var request = new HttpRequestMessage(method, $"{StorageUrl}/{path}");
        request.Headers.Add("X-Auth-Token", Token);
        return await Http.SendAsync(request);
    }

    /// <summary>Object names in a container under a prefix.</summary>
    public async Task<List<string>> ListAsync(string container, string prefix)
    {
        using var response = await SendAsync(HttpMethod.Get, $"{container}?prefix={Uri.EscapeDataString(prefix)}");
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return [];
        }

        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>Tests that measure memory run alone, after the others, so their allocations don't count.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NotInParallel
{
    public const string Name = "not in parallel";
}

/// <summary>
/// The store contract against the Swift all-in-one, v1 tempauth, with 4 MiB segments: small objects are plain
/// PUTs, the 5 MB and 48 MiB streamed objects go through Static Large Objects.
/// </summary>
public sealed class SwiftObjectStoreConformanceTests(SwiftSaioFixture server) : ObjectStoreConformanceTests
{
    protected override Task<IObjectStore> CreateStoreAsync()
    {
        var options = server.Options();
        options.SegmentSize = 4 << 20;
        return Task.FromResult<IObjectStore>(new SwiftObjectStore(options));
    }
}
