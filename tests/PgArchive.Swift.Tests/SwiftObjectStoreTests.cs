using System.Net;
using PgArchive.Storage.Conformance;
using PgArchive.Storage.Testing;

namespace PgArchive.Storage;

/// <summary>Swift-specific behaviour against the all-in-one: errors, Static Large Objects, Keystone auth, token refresh.</summary>
public sealed class SwiftObjectStoreTests(SwiftSaioFixture server)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Wrong_key_is_access_denied_without_the_key_in_the_message()
    {
        var options = server.Options();
        options.Password = "wrong-key-" + Guid.NewGuid().ToString("N");
        using var store = new SwiftObjectStore(options);

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync("wal_005/x", new MemoryStream([1]), cancellationToken: Token));

        Assert.Equal(ObjectStoreErrorKind.AccessDenied, ex.Kind);
        Assert.Contains("OS_PASSWORD", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(options.Password, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_container_is_container_not_found_for_every_operation()
    {
        var options = server.Options();
        options.Container = "missing-" + Guid.NewGuid().ToString("N")[..12];
        using var store = new SwiftObjectStore(options);

        var put = await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync("k", new MemoryStream([1]), cancellationToken: Token));
        var info = await Assert.ThrowsAsync<ObjectStoreException>(() => store.GetInfoAsync("k", Token));
        var read = await Assert.ThrowsAsync<ObjectStoreException>(() => store.OpenReadAsync("k", null, Token));
        var list = await Assert.ThrowsAsync<ObjectStoreException>(async () => await store.ListAsync("", Token).ToListAsync(Token));

        Assert.All([put, info, read, list], ex => Assert.Equal(ObjectStoreErrorKind.ContainerNotFound, ex.Kind));
        Assert.Contains(options.Container, put.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Object_above_the_segment_size_is_a_static_large_object_whose_segments_go_with_it()
    {
        var options = server.Options();
        options.SegmentSize = 1 << 20;
        options.MaxConcurrentSegments = 2;
        using var store = new SwiftObjectStore(options);
        var size = (3 << 20) + (512 << 10);

        await store.PutAsync("basebackups_005/b/part_001.tar.lz4", new PatternStream(size), cancellationToken: Token);

        using (var head = await server.SendAsync(HttpMethod.Head, $"{SwiftSaioFixture.ContainerName}/{options.Prefix}/basebackups_005/b/part_001.tar.lz4"))
        {
            Assert.Equal("True", head.Headers.GetValues("X-Static-Large-Object").Single());
        }

        var segments = await server.ListAsync(store.SegmentContainer, options.Prefix + "/");
        Assert.Equal(4, segments.Count);
        Assert.All(segments, s => Assert.StartsWith(options.Prefix + "/basebackups_005/b/part_001.tar.lz4/slo/", s, StringComparison.Ordinal));
        Assert.Equal(size, (await store.GetInfoAsync("basebackups_005/b/part_001.tar.lz4", Token))?.Size);
        Assert.Equal(size, Assert.Single(await store.ListAsync("basebackups_005/", Token).ToListAsync(Token)).Size);
        var expected = new byte[100];
        for (var i = 0; i < expected.Length; i++)
        {
            expected[i] = PatternStream.ByteAt((1 << 20) - 50 + i);
        }

        await using (var range = await store.OpenReadAsync("basebackups_005/b/part_001.tar.lz4", new ByteRange((1 << 20) - 50, 100), Token))
        {
            using var copy = new MemoryStream();
            await range.CopyToAsync(copy, Token);
            Assert.Equal(expected, copy.ToArray());
        }

        await store.DeleteAsync(["basebackups_005/b/part_001.tar.lz4"], Token);
        Assert.Empty(await server.ListAsync(store.SegmentContainer, options.Prefix + "/"));
        Assert.Null(await store.GetInfoAsync("basebackups_005/b/part_001.tar.lz4", Token));
    }

    [Fact]
    public async Task Overwriting_a_large_object_deletes_its_old_segments()
    {
        var options = server.Options();
        options.SegmentSize = 1 << 20;
        using var store = new SwiftObjectStore(options);
        await store.PutAsync("big", new PatternStream(3 << 20), cancellationToken: Token);
        Assert.Equal(3, (await server.ListAsync(store.SegmentContainer, options.Prefix + "/")).Count);

        await store.PutAsync("big", new MemoryStream([1, 2, 3]), cancellationToken: Token);

        Assert.Empty(await server.ListAsync(store.SegmentContainer, options.Prefix + "/"));
        Assert.Equal(3, (await store.GetInfoAsync("big", Token))?.Size);
        await store.DeleteAsync(["big"], Token);
    }

    [Fact]
    public async Task Failed_or_refused_large_uploads_leave_no_segments()
    {
        var options = server.Options();
        options.SegmentSize = 1 << 20;
        using var store = new SwiftObjectStore(options);

        await Assert.ThrowsAsync<IOException>(() => store.PutAsync("failed", new FailingStream(new PatternStream(5 << 20), (2 << 20) + 100), cancellationToken: Token));
        await store.PutAsync("kept", new PatternStream(2 << 20), PutMode.CreateNew, Token);
        var refused = await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync("kept", new PatternStream(3 << 20), PutMode.CreateNew, Token));

        Assert.Equal(ObjectStoreErrorKind.AlreadyExists, refused.Kind);
        Assert.Null(await store.GetInfoAsync("failed", Token));
        Assert.Equal(2 << 20, (await store.GetInfoAsync("kept", Token))?.Size);
        var segments = await server.ListAsync(store.SegmentContainer, options.Prefix + "/");
        Assert.Equal(2, segments.Count);
        Assert.All(segments, s => Assert.Contains("/kept/slo/", s, StringComparison.Ordinal));
        await store.DeleteAsync(["kept"], Token);
    }

    [Theory]
    [InlineData("/v3", "internalURL")]
    [InlineData("/v2.0", "publicURL")]
    public async Task Keystone_password_auth_picks_the_object_store_endpoint_by_region_and_interface(string path, string endpointType)
    {
        await using var keystone = new FakeKeystone(server.StorageUrl, server.NewTokenAsync);
        var options = server.Options();
        options.AuthUrl = keystone.BaseUrl + path;
        options.Username = FakeKeystone.User;
        options.Password = FakeKeystone.Password;
        options.ProjectName = FakeKeystone.Project;
        options.Region = "RegionTwo";
        options.EndpointType = endpointType;
        using var store = new SwiftObjectStore(options);

        await store.PutAsync("wal_005/000000010000000000000001.lz4", new MemoryStream([9, 8, 7]), cancellationToken: Token);

        Assert.Equal(3, (await store.GetInfoAsync("wal_005/000000010000000000000001.lz4", Token))?.Size);
        Assert.Equal(1, keystone.Requests);
        await store.DeleteAsync(["wal_005/000000010000000000000001.lz4"], Token);
    }

    [Fact]
    public async Task Keystone_refusing_the_password_is_access_denied()
    {
        await using var keystone = new FakeKeystone(server.StorageUrl, server.NewTokenAsync);
        var options = server.Options();
        options.AuthUrl = keystone.BaseUrl + "/v3";
        options.Username = FakeKeystone.User;
        options.Password = "not-the-password";
        options.ProjectName = FakeKeystone.Project;
        using var store = new SwiftObjectStore(options);

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => store.GetInfoAsync("x", Token));

        Assert.Equal(ObjectStoreErrorKind.AccessDenied, ex.Kind);
        Assert.DoesNotContain("not-the-password", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_Swift_refuses_is_renewed_once_and_the_request_resent()
    {
        await using var keystone = new FakeKeystone(server.StorageUrl, server.NewTokenAsync) { FirstTokenInvalid = true };
        var options = server.Options();
        options.AuthUrl = keystone.BaseUrl + "/v3";
        options.Username = FakeKeystone.User;
        options.Password = FakeKeystone.Password;
        options.ProjectName = FakeKeystone.Project;
        options.Region = "RegionTwo";
        options.EndpointType = "internal";
        using var store = new SwiftObjectStore(options);

        await store.PutAsync("renewed", new MemoryStream([1]), cancellationToken: Token);

        Assert.Equal(2, keystone.Requests);
        Assert.Equal(1, (await store.GetInfoAsync("renewed", Token))?.Size);
        await store.DeleteAsync(["renewed"], Token);
    }

    [Fact]
    public async Task Unreachable_storage_is_unavailable_after_the_configured_retries()
    {
        var options = server.Options();
        options.StorageUrl = $"http://127.0.0.1:{FreePorts.FindBlock(1)}/v1/AUTH_test";
        options.MaxRetries = 2;
        options.RetryDelay = TimeSpan.FromMilliseconds(10);
        using var store = new SwiftObjectStore(options);

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => store.GetInfoAsync("x", Token));

        Assert.Equal(ObjectStoreErrorKind.Unavailable, ex.Kind);
        Assert.True(ex.IsTransient);
        Assert.Contains("after 2 retries", ex.Message, StringComparison.Ordinal);
    }
}

/// <summary>1 GiB through a Swift Static Large Object with the default segment size, the managed heap sampled: under 100 MiB.</summary>
[Collection(NotInParallel.Name)]
public sealed class SwiftLargeObjectTests(SwiftSaioFixture server)
{
    [Fact]
    public async Task One_GiB_streams_through_with_managed_memory_under_100_MiB()
    {
        using var store = new SwiftObjectStore(server.Options());

        var figures = await LargeObjectRun.RunAsync(store, "basebackups_005/large.tar", 1L << 30, TestContext.Current.CancellationToken);
        TestContext.Current.SendDiagnosticMessage($"Swift (SAIO) {figures}");
        TestContext.Current.TestOutputHelper?.WriteLine($"Swift (SAIO) {figures}");
        await store.DeleteAsync(["basebackups_005/large.tar"], TestContext.Current.CancellationToken);

        Assert.InRange(figures.PeakLiveBytes, 0, 100L << 20);
    }
}
