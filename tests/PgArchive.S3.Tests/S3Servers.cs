using Amazon.S3;
using Amazon.S3.Model;
using PgArchive.Storage.Conformance;
using PgArchive.Storage.Testing;

namespace PgArchive.Storage;

/// <summary>A real S3 server for a test collection, started by a <c>shared/recipes</c> script on free ports.</summary>
public abstract class S3ServerFixture : IAsyncLifetime
{
    private RecipeServer? _server;

    /// <summary>Short name for messages and figures.</summary>
    public abstract string Name { get; }

    /// <summary>The bucket the tests use.</summary>
    public string Bucket { get; private set; } = "";

    /// <summary>The server's exports.</summary>
    public RecipeServer Server => _server ?? throw new InvalidOperationException("The server has not started.");

    /// <summary>Options for a store under a fresh prefix of the test bucket.</summary>
    public S3ObjectStoreOptions Options(string? prefix = null)
    {
        var options = new S3ObjectStoreOptions
        {
            Bucket = Bucket,
            Prefix = prefix ?? "t-" + Guid.NewGuid().ToString("N"),
            ServiceUrl = Server["S3_ENDPOINT"],
            ForcePathStyle = true,
            Region = Server["S3_REGION"],
            AccessKeyId = Server["S3_ACCESS_KEY"],
            SecretAccessKey = Server["S3_SECRET_KEY"],
            MaxRetries = 2,
        };
        Configure(options);
        return options;
    }

    /// <summary>Server-specific settings.</summary>
    protected virtual void Configure(S3ObjectStoreOptions options)
    {
    }

    protected abstract Task<RecipeServer> StartAsync();

    protected abstract Task<string> PrepareBucketAsync();

    public async ValueTask InitializeAsync()
    {
        _server = await StartAsync();
        Bucket = await PrepareBucketAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}

/// <summary>s3rver behind the recipe's launcher, used with the SDK's defaults.</summary>
public sealed class S3rverFixture : S3ServerFixture
{
    public override string Name => "s3rver";

    protected override Task<RecipeServer> StartAsync() => RecipeServer.StartAsync("start-s3rver.sh", new Dictionary<string, string>
    {
        ["S3RVER_PORT"] = FreePorts.FindBlock(1).ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["S3_BUCKET"] = "pgarchive-test",
    });

    protected override Task<string> PrepareBucketAsync() => Task.FromResult(Server["S3_BUCKET"]);
}

/// <summary>OpenStack Swift's s3api, used with the compatible-server settings.</summary>
public sealed class SwiftS3ApiFixture : S3ServerFixture
{
    public override string Name => "swift-s3api";

    protected override void Configure(S3ObjectStoreOptions options)
    {
        options.UseChunkEncoding = false;
        options.ChecksumsOnlyWhenRequired = true;
    }

    protected override Task<RecipeServer> StartAsync() => RecipeServer.StartAsync("start-swift-saio.sh", new Dictionary<string, string>
    {
        ["SWIFT_PORT"] = FreePorts.FindBlock(5).ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["SWIFT_LOG_LEVEL"] = "WARNING",
    });

    protected override async Task<string> PrepareBucketAsync()
    {
        const string bucket = "pgarchive-test";
        using var client = S3ObjectStore.CreateClient(Options("unused"));
        await client.PutBucketAsync(new PutBucketRequest { BucketName = bucket });
        return bucket;
    }
}

/// <summary>Tests that measure memory run alone, after the others, so their allocations don't count.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NotInParallel
{
    public const string Name = "not in parallel";
}
