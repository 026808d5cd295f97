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
public abstract class EncryptorConformanceTests<TEncryptor> : IDisposable
    where TEncryptor : class, IEncryptor
{
    private readonly List<ServiceProvider> _providers = [];

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

    public void Dispose()
    {
        foreach (var provider in _providers)
        {
            provider.Dispose();
        }

        GC.SuppressFinalize(this);
    }

    private TEncryptor Build(bool otherKey)
    {
        var builder = new ServiceCollection().AddPgArchive().UseInMemory();
        Use(builder, otherKey);
        var provider = builder.Services.BuildServiceProvider();
        _providers.Add(provider);
        return Assert.IsType<TEncryptor>(provider.GetRequiredService<IEncryptor>());
    }

    private Stream Encode(Stream sink) => Encryptor.CreateEncryptionStream(sink, leaveOpen: true);

    private Stream Decode(Stream source) => Encryptor.CreateDecryptionStream(source);

    [Fact]
    public async Task Round_trip_returns_the_input_at_every_size()
    {
        foreach (var size in CodecProbes.Sizes)
        {
            var data = Codecs.Data(size, seed: size);
            var stored = await Codecs.EncryptAsync(Encryptor, data);
            Assert.True(Codecs.Same(data, await Codecs.DecryptAsync(Encryptor, stored)), $"{size} bytes came back changed");
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(8193)]
    [InlineData(300_001)]
    public async Task Round_trip_through_the_synchronous_stream_calls_returns_the_input(int size)
    {
        var data = Codecs.Data(size);

        var stored = await Codecs.EncryptAsync(Encryptor, data, asynchronous: false);

        Assert.True(Codecs.Same(data, await Codecs.DecryptAsync(Encryptor, stored, asynchronous: false)));
    }

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

        foreach (var damaged in new[] { stored[..^1], stored[..(stored.Length / 2)], stored[..3], altered })
        {
            var decoding = CodecProbes.DecodeWithoutHangingAsync(Decode, damaged);
            if (Authenticates)
            {
                await Assert.ThrowsAsync<InvalidDataException>(() => decoding);
            }
            else
            {
                Assert.False(Codecs.Same(data, await decoding), "a damaged object decoded to the input");
            }
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
    public void Round_trip_of_64_MiB_streams_in_bounded_memory()
    {
        var small = CodecProbes.AllocatedByRoundTrip(Encode, Decode, CodecProbes.SmallLength);
        var large = CodecProbes.AllocatedByRoundTrip(Encode, Decode, CodecProbes.StreamedLength);

        var (encrypting, decrypting) = AllocatedPerByte;
        Check("encrypting", small.Encoding, large.Encoding, encrypting);
        Check("decrypting", small.Decoding, large.Decoding, decrypting);

        static void Check(string what, long small, long large, double perByte)
        {
            var churn = (long)(perByte * CodecProbes.StreamedLength);
            CodecProbes.AssertBounded(what, small, large, (16L << 20) + churn, CodecProbes.GrowthBudget + churn);
        }
    }
}
