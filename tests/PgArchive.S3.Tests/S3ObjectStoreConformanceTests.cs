using PgArchive.Storage.Conformance;

namespace PgArchive.Storage;

/// <summary>The store contract against s3rver with the SDK's defaults (aws-chunked bodies, CRC32 checksums).</summary>
public sealed class S3rverObjectStoreTests(S3rverFixture server) : ObjectStoreConformanceTests
{
    protected override Task<IObjectStore> CreateStoreAsync() => Task.FromResult<IObjectStore>(new S3ObjectStore(server.Options()));
}

/// <summary>The store contract against OpenStack Swift's s3api with the compatible-server settings.</summary>
public sealed class SwiftS3ApiObjectStoreTests(SwiftS3ApiFixture server) : ObjectStoreConformanceTests
{
    protected override Task<IObjectStore> CreateStoreAsync() => Task.FromResult<IObjectStore>(new S3ObjectStore(server.Options()));
}
