using System.Security.Cryptography;
using PgArchive.Storage;
using Xunit;

namespace PgArchive.Storage.Conformance;

/// <summary>How many cut GETs a download cut every time is expected to take before it fails.</summary>
/// <param name="Count">The number of cut GETs.</param>
/// <param name="IsExact">True: exactly <paramref name="Count"/>; false: at least that many.</param>
public readonly record struct CutCount(int Count, bool IsExact)
{
    /// <summary>Exactly <paramref name="count"/> cut GETs (the first one and the store's own retries).</summary>
    public static CutCount Exactly(int count) => new(count, true);

    /// <summary>At least <paramref name="count"/> cut GETs (the SDK decides how many more).</summary>
    public static CutCount AtLeast(int count) => new(count, false);
}

/// <summary>
/// The contract of a download cut off mid-body, for stores that resume broken downloads themselves. Each provider's
/// tests inherit this class and supply a <see cref="FaultProxy"/> in front of their server and a store reading through
/// it. A download cut once is resumed with identical bytes (a full read and a ranged one); a download cut every time
/// fails as <see cref="ObjectStoreErrorKind.Unavailable"/> naming the key, never as a raw IOException; and a store that
/// pins the version it started reading (<see cref="PinsVersion"/>) fails a download whose object was replaced between
/// the cut and the resume instead of stitching two objects together. xUnit makes a new instance per test, so
/// <see cref="Prefix"/> is fresh for each.
/// </summary>
public abstract class CutDownloadConformanceTests
{
    /// <summary>The test's cancellation token.</summary>
    protected static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>A prefix of this test's own, for stores that take one.</summary>
    protected string Prefix { get; } = "cut/" + Guid.NewGuid().ToString("N");

    /// <summary>The size of the objects cut once: large enough that the first bytes are read before the cut.</summary>
    protected virtual int ObjectSize => (3 << 20) + 17;

    /// <summary>The range read by the ranged cases, inside <see cref="ObjectSize"/>.</summary>
    protected virtual ByteRange CutRange => new(12345, 2 << 20);

    /// <summary>
    /// The requests that download a body, the only ones cut (null: every GET), e.g. media downloads and not the
    /// metadata GET a read starts with.
    /// </summary>
    protected virtual Func<ProxyRequest, bool>? BodyRequests => null;

    /// <summary>How many cut GETs a download cut every time takes before it fails.</summary>
    protected abstract CutCount CutsWhenCutEveryTime { get; }

    /// <summary>
    /// Whether the store resumes a download on the version it first read (ETag, generation), so that a replaced
    /// object fails the read. False skips the replaced-object cases, with <see cref="NotPinnedReason"/>.
    /// </summary>
    protected virtual bool PinsVersion => true;

    /// <summary>Why the store does not pin the version, for the skipped tests.</summary>
    protected virtual string NotPinnedReason => "the store does not pin the version it resumes.";

    /// <summary>
    /// What the error of a replaced object says (the key does not contain it, so the message has to). The default,
    /// "replaced", is what the stores say in their own words.
    /// </summary>
    protected virtual string ReplacedMessage => "replaced";

    /// <summary>A fault proxy in front of the provider's server, passing everything until told otherwise.</summary>
    protected abstract FaultProxy StartProxy();

    /// <summary>A store over <see cref="Prefix"/> whose downloads go through <paramref name="proxy"/>.</summary>
    protected abstract IObjectStore CreateStore(FaultProxy proxy);

    /// <summary>A store over <see cref="Prefix"/> that writes the objects; the default goes through the proxy too.</summary>
    protected virtual IObjectStore CreateWriter(FaultProxy proxy) => CreateStore(proxy);

    /// <summary>Checks what else the store did on a download cut once and resumed (e.g. the events it logged).</summary>
    protected virtual void AssertResumedOnce()
    {
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public virtual Task A_download_cut_short_once_is_resumed_with_identical_bytes(bool ranged) =>
        AssertCutOnceIsResumedAsync(ObjectSize, ranged ? CutRange : null);

    [Fact]
    public virtual async Task A_download_cut_short_every_time_fails_as_unavailable_naming_the_key()
    {
        await using var proxy = StartProxy();
        var writer = CreateWriter(proxy);
        using var disposeWriter = writer as IDisposable;
        var store = CreateStore(proxy);
        using var disposeStore = store as IDisposable;
        await writer.PutAsync("wal_005/always-cut", new MemoryStream(RandomNumberGenerator.GetBytes((1 << 20) + 5)), cancellationToken: Token);
        proxy.TransientKinds = [ProxyFault.TruncatedBody];
        proxy.TransientFilter = BodyRequests;
        proxy.TransientRate = 1;

        var error = await Assert.ThrowsAsync<ObjectStoreException>(async () =>
        {
            await using var read = await store.OpenReadAsync("wal_005/always-cut", cancellationToken: Token);
            await read.CopyToAsync(Stream.Null, Token);
        });

        Output(proxy.Summary() + "; " + error);
        Assert.Equal(ObjectStoreErrorKind.Unavailable, error.Kind);
        Assert.Equal("wal_005/always-cut", error.Key);
        var cuts = proxy.Faults.GetValueOrDefault(ProxyFault.TruncatedBody);
        if (CutsWhenCutEveryTime.IsExact)
        {
            Assert.Equal(CutsWhenCutEveryTime.Count, cuts);
        }
        else
        {
            Assert.True(cuts >= CutsWhenCutEveryTime.Count, proxy.Summary());
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public virtual Task A_download_whose_object_is_replaced_before_it_resumes_fails_instead_of_stitching(bool ranged) =>
        AssertReplacedObjectFailsAsync(ObjectSize, ranged ? CutRange : null);

    /// <summary>Stores <paramref name="size"/> bytes, reads them (or <paramref name="range"/>) with the first body GET cut in half, and checks the bytes.</summary>
    protected async Task AssertCutOnceIsResumedAsync(int size, ByteRange? range)
    {
        await using var proxy = StartProxy();
        var writer = CreateWriter(proxy);
        using var disposeWriter = writer as IDisposable;
        var store = CreateStore(proxy);
        using var disposeStore = store as IDisposable;
        var bytes = RandomNumberGenerator.GetBytes(size);
        await writer.PutAsync("wal_005/cut", new MemoryStream(bytes), cancellationToken: Token);

        // The first download of the body is cut in half; the resumed ones are not.
        CutFirstBody(proxy);
        var read = await store.OpenReadAsync("wal_005/cut", range, Token);
        using var copy = new MemoryStream();
        await using (read)
        {
            await read.CopyToAsync(copy, Token);
        }

        Output(proxy.Summary());
        Assert.Equal(1, proxy.Faults.GetValueOrDefault(ProxyFault.TruncatedBody));
        AssertResumedOnce();
        var expected = range is { } r ? bytes.AsSpan((int)r.Offset, (int)r.Length!.Value) : bytes;
        Assert.Equal(expected.Length, copy.Length);
        Assert.True(expected.SequenceEqual(copy.ToArray()));
    }

    /// <summary>
    /// Stores <paramref name="size"/> bytes, opens a read (of <paramref name="range"/>) whose first body GET is cut in
    /// half, replaces the object, and checks that the resume fails rather than stitching the two.
    /// </summary>
    protected async Task AssertReplacedObjectFailsAsync(int size, ByteRange? range)
    {
        Assert.SkipUnless(PinsVersion, NotPinnedReason);
        await using var proxy = StartProxy();
        var writer = CreateWriter(proxy);
        using var disposeWriter = writer as IDisposable;
        var store = CreateStore(proxy);
        using var disposeStore = store as IDisposable;
        await writer.PutAsync("wal_005/overwritten", new MemoryStream(RandomNumberGenerator.GetBytes(size)), cancellationToken: Token);

        CutFirstBody(proxy);
        var read = await store.OpenReadAsync("wal_005/overwritten", range, Token);
        await writer.PutAsync("wal_005/overwritten", new MemoryStream(RandomNumberGenerator.GetBytes(size)), cancellationToken: Token);
        var error = await Assert.ThrowsAsync<ObjectStoreException>(async () =>
        {
            await using (read)
            {
                await read.CopyToAsync(Stream.Null, Token);
            }
        });

        Output(proxy.Summary() + "; " + error.Message);
        Assert.Equal(1, proxy.Faults.GetValueOrDefault(ProxyFault.TruncatedBody));
        Assert.Equal(ObjectStoreErrorKind.Other, error.Kind);
        Assert.Equal("wal_005/overwritten", error.Key);
        Assert.Contains(ReplacedMessage, error.Message, StringComparison.Ordinal);
    }

    /// <summary>One line of test output.</summary>
    protected static void Output(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);

    private void CutFirstBody(FaultProxy proxy)
    {
        proxy.TransientKinds = [ProxyFault.TruncatedBody];
        proxy.TransientFilter = BodyRequests;
        proxy.TransientLimit = 1;
        proxy.TransientRate = 1;
    }
}
