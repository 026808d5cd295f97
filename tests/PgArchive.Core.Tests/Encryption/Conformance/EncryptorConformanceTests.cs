using Microsoft.Extensions.DependencyInjection;
using PgArchive.DependencyInjection;
using PgArchive.Support;

namespace PgArchive.Encryption.Conformance;

/// <summary>
/// What every encryptor must do, as the archive pipeline relies on it: it returns what it was given at every size; an
/// empty, cut or altered object, or one written with another key, is an <see cref="InvalidDataException"/>; it names its
/// key by an <see cref="IEncryptor.KeyIdentity"/> that is stable, tells keys apart and reveals nothing; async reads and
/// writes honour cancellation; and it streams, in memory that does not grow with the data. An encryptor's test class
/// inherits this, naming its type and saying how to register it with a key or another key.
/// </summary>
public abstract class EncryptorConformanceTests<TEncryptor> : CodecConformanceBase
    where TEncryptor : class, IEncryptor
{
    /// <summary>The encryptor under test with the key, as dependency injection creates it.</summary>
    protected TEncryptor Encryptor => field ??= Build(otherKey: false);

    /// <summary>Whether the method authenticates what it decrypts (false only for no encryption).</summary>
    protected virtual bool Authenticates => true;

    /// <summary>
    /// Bytes a method is known to allocate (and soon free) per byte it encrypts and decrypts, beyond a bounded amount:
    /// none by default. The streaming check allows that much more, and no more.
    /// </summary>
    protected virtual (double Encrypting, double Decrypting) AllocatedPerByte => (0, 0);

    /// <summary>Text of the secret key as configured, which the identity must not contain; null when there is none.</summary>
    protected abstract string? SecretKeyText { get; }

    /// <summary>Registers the encryptor under test with its key, or with another key when <paramref name="otherKey"/>.</summary>
    protected abstract void Use(IPgArchiveBuilder builder, bool otherKey);

    private TEncryptor Build(bool otherKey) =>
        Assert.IsType<TEncryptor>(Build(_ => { }, builder => Use(builder, otherKey)).GetRequiredService<IEncryptor>());

    private Stream Encode(Stream sink) => Encryptor.CreateEncryptionStream(sink, leaveOpen: true);

    private Stream Decode(Stream source) => Encryptor.CreateDecryptionStream(source);

    [Fact]
    public Task Round_trip_returns_the_input_at_every_size() => CodecProbes.AssertRoundTripsAsync(Encode, Decode, CodecProbes.Sizes);

    [Fact]
    public Task Round_trip_through_the_synchronous_stream_calls_returns_the_input() =>
        CodecProbes.AssertRoundTripsAsync(Encode, Decode, [0, 8193, 300_001], asynchronous: false);

    [Fact]
    public async Task Empty_object_is_invalid_data_when_the_method_authenticates()
    {
        if (Authenticates)
        {
            await Assert.ThrowsAsync<InvalidDataException>(() => CodecProbes.DecodeWithoutHangingAsync(Decode, []));
        }
        else
        {
            Assert.Empty(await CodecProbes.DecodeWithoutHangingAsync(Decode, []));
        }
    }

    [Fact]
    public async Task Cut_or_altered_object_is_invalid_data_when_the_method_authenticates()
    {
        var data = Codecs.Data(100_000);
        var stored = await Codecs.EncryptAsync(Encryptor, data);
        var altered = stored.ToArray();
        altered[altered.Length / 2] ^= 0x01;

        foreach (var (damaged, what) in new[] { (stored[..^1], "the last byte cut"), (stored[..(stored.Length / 2)], "cut in half"), (stored[..3], "cut to 3 bytes"), (altered, "a changed byte") })
        {
            await CodecProbes.AssertDamageHandledAsync(Decode, damaged, data, Authenticates, what);
        }
    }

    [Fact]
    public async Task Object_written_with_another_key_is_invalid_data_when_the_method_authenticates()
    {
        var data = Codecs.Data(20_000);
        var stored = await Codecs.EncryptAsync(Build(otherKey: true), data);

        if (Authenticates)
        {
            await Assert.ThrowsAsync<InvalidDataException>(() => CodecProbes.DecodeWithoutHangingAsync(Decode, stored));
        }
        else
        {
            Assert.True(Codecs.Same(data, await CodecProbes.DecodeWithoutHangingAsync(Decode, stored)));
        }
    }

    [Fact]
    public void Key_identity_is_stable_tells_keys_apart_and_reveals_nothing()
    {
        var identity = Encryptor.KeyIdentity;

        Assert.Equal(identity, Build(otherKey: false).KeyIdentity);
        if (Authenticates)
        {
            Assert.NotEqual(identity, Build(otherKey: true).KeyIdentity);
            Assert.NotEqual("none", identity);
        }
        else
        {
            Assert.Equal("none", identity);
        }

        if (SecretKeyText is { } secret)
        {
            foreach (var piece in secret.Chunk(8).Select(c => new string(c)).Where(p => p.Length == 8))
            {
                Assert.DoesNotContain(piece, identity, StringComparison.OrdinalIgnoreCase);
            }
        }
    }

    [Fact]
    public Task Async_write_honours_cancellation() => CodecProbes.AssertAsyncWriteHonoursCancellationAsync(Encode);

    [Fact]
    public Task Async_read_honours_cancellation() => CodecProbes.AssertAsyncReadHonoursCancellationAsync(Decode);

    [Fact]
    public void Round_trip_of_64_MiB_streams_in_bounded_memory() =>
        CodecProbes.AssertRoundTripStreams(Encode, Decode, ("encrypting", "decrypting"), 16L << 20, AllocatedPerByte);
}
