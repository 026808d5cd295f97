using Microsoft.Extensions.Options;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;
using Org.BouncyCastle.Security;
using PgArchive.IO;

namespace PgArchive.Encryption;

/// <summary>
/// OpenPGP as WAL-G and WAL-E write it (<c>WALG_PGP_KEY</c>, <c>WALG_PGP_KEY_PATH</c>, <c>WALG_PGP_KEY_PASSPHRASE</c>),
/// through BouncyCastle: a binary (unarmored), unsigned message encrypted to the key's public key(s) with AES-256
/// and an integrity packet (MDC), holding one binary literal packet; <c>gpg --decrypt</c> reads it. Reading accepts
/// what gpg writes too (compressed packets, marker packets, signed content) but refuses messages without integrity
/// protection, and checks the MDC at the end, so a changed or cut object fails. Failures of the data are
/// <see cref="InvalidDataException"/>s, which callers report with the object's name.
/// </summary>
public sealed class PgpEncryptor : IEncryptor
{
    private const int BufferSize = 1 << 16;
    private readonly PgpKeyring _keys;
    private readonly SecureRandom _random = new();

    /// <summary>Creates the encryptor, reading the key from the options.</summary>
    /// <exception cref="PgArchiveConfigurationException">The key is missing or unreadable, or the passphrase does not unlock it.</exception>
    public PgpEncryptor(IOptions<PgpEncryptorOptions> options)
        : this(options, timeProvider: null)
    {
    }

    /// <summary>Creates the encryptor, reading the key from the options; key expiry is judged by <paramref name="timeProvider"/>.</summary>
    /// <exception cref="PgArchiveConfigurationException">The key is missing or unreadable, or the passphrase does not unlock it.</exception>
    public PgpEncryptor(IOptions<PgpEncryptorOptions> options, TimeProvider? timeProvider)
        : this(options?.Value ?? throw new ArgumentNullException(nameof(options)), timeProvider)
    {
    }

    /// <summary>Creates the encryptor, reading the key from the options.</summary>
    /// <exception cref="PgArchiveConfigurationException">The key is missing or unreadable, or the passphrase does not unlock it.</exception>
    public PgpEncryptor(PgpEncryptorOptions options)
        : this(options, timeProvider: null)
    {
    }

    /// <summary>Creates the encryptor, reading the key from the options; key expiry is judged by <paramref name="timeProvider"/>.</summary>
    /// <exception cref="PgArchiveConfigurationException">The key is missing or unreadable, or the passphrase does not unlock it.</exception>
    public PgpEncryptor(PgpEncryptorOptions options, TimeProvider? timeProvider)
    {
        _keys = PgpKeyring.Load(options, timeProvider ?? TimeProvider.System);
    }

    /// <summary>Names the public key(s) new objects are encrypted to, by fingerprint (public information).</summary>
    public string KeyIdentity => "pgp:" + string.Join(',', _keys.EncryptionKeys.Select(k => Convert.ToHexStringLower(k.GetFingerprint())).Order(StringComparer.Ordinal));

    /// <inheritdoc />
    /// <exception cref="PgArchiveConfigurationException">The key holds no key that can encrypt.</exception>
    public Stream CreateEncryptionStream(Stream destination, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (_keys.EncryptionKeys.Count == 0)
        {
            throw new PgArchiveConfigurationException($"{_keys.Setting} holds no valid public key flagged for encryption, so nothing can be archived with it.");
        }

        return new EncryptStream(destination, _keys.EncryptionKeys, _random, leaveOpen);
    }

    /// <inheritdoc />
    public Stream CreateDecryptionStream(Stream source, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new DecryptStream(source, _keys, leaveOpen);
    }

    /// <summary>
    /// BouncyCastle's generators write into a private buffer, which is moved to the destination after every
    /// write, asynchronously on the async path: BouncyCastle never touches the destination itself.
    /// </summary>
    private sealed class EncryptStream : WriteOnlyStream
    {
        private readonly Stream _destination;
        private readonly bool _leaveOpen;
        private readonly MemoryStream _pending = new();
        private readonly Stream _encrypted;
        private readonly Stream _literal;
        private bool _disposed;

        public EncryptStream(Stream destination, IReadOnlyList<PgpPublicKey> recipients, SecureRandom random, bool leaveOpen)
        {
            _destination = destination;
            _leaveOpen = leaveOpen;
            var generator = new PgpEncryptedDataGenerator(SymmetricKeyAlgorithmTag.Aes256, withIntegrityPacket: true, random);
            foreach (var recipient in recipients)
            {
                generator.AddMethod(recipient);
            }

            _encrypted = generator.Open(_pending, new byte[BufferSize]);
            _literal = new PgpLiteralDataGenerator().Open(_encrypted, PgpLiteralData.Binary, "", DateTime.UnixEpoch, new byte[BufferSize]);
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _literal.Write(buffer);
            Drain();
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _literal.Write(buffer.Span);
            await DrainAsync(cancellationToken).ConfigureAwait(false);
        }

        private void Drain()
        {
            if (_pending.Length > 0)
            {
                _destination.Write(_pending.GetBuffer().AsSpan(0, (int)_pending.Length));
                _pending.SetLength(0);
            }
        }

        private async ValueTask DrainAsync(CancellationToken cancellationToken)
        {
            if (_pending.Length > 0)
            {
                await _destination.WriteAsync(_pending.GetBuffer().AsMemory(0, (int)_pending.Length), cancellationToken).ConfigureAwait(false);
                _pending.SetLength(0);
            }
        }

        /// <summary>Closes the literal packet, then the encrypted one (which appends the MDC).</summary>
        private void Seal()
        {
            _disposed = true;
            _literal.Dispose();
            _encrypted.Dispose();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                try
                {
                    Seal();
                    Drain();
                    _destination.Flush();
                }
                finally
                {
                    if (!_leaveOpen)
                    {
                        _destination.Dispose();
                    }
                }
            }

            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            if (!_disposed)
            {
                try
                {
                    Seal();
                    await DrainAsync(CancellationToken.None).ConfigureAwait(false);
                    await _destination.FlushAsync().ConfigureAwait(false);
                }
                finally
                {
                    if (!_leaveOpen)
                    {
                        await _destination.DisposeAsync().ConfigureAwait(false);
                    }
                }
            }

            await base.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Parses the message on first read and hands out the literal data; at its end checks the MDC and that the
    /// object ends there. BouncyCastle reads synchronously, from a <see cref="PrefetchStream"/> that the async path fills.
    /// </summary>
    private sealed class DecryptStream(Stream source, PgpKeyring keys, bool leaveOpen) : ReadOnlyStream
    {
        private readonly PrefetchStream _input = new(source);
        private PgpPublicKeyEncryptedData? _encrypted;
        private Stream? _literal;
        private bool _finished;

        public override int Read(Span<byte> buffer)
        {
            if (buffer.IsEmpty || _finished)
            {
                return 0;
            }

            try
            {
                _literal ??= Open();
                var read = _literal.Read(buffer);
                if (read == 0)
                {
                    Finish();
                }

                return read;
            }
            catch (Exception ex) when (ex is PgpException or IOException or UnsupportedPacketVersionException && !_input.SourceFailed)
            {
                // BouncyCastle's failures on bad data (bad packets, a packet version it does not know, a cut stream); the source's own failures pass.
                throw new InvalidDataException($"The OpenPGP message is corrupt or truncated: {ex.Message}", ex);
            }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (buffer.IsEmpty || _finished)
            {
                return 0;
            }

            await _input.PrefetchAsync(Math.Max(buffer.Length, BufferSize), cancellationToken).ConfigureAwait(false);
            return Read(buffer.Span);
        }

        private Stream Open()
        {
            var factory = new PgpObjectFactory(_input);
            var item = factory.NextPgpObject();
            while (item is PgpMarker)
            {
                item = factory.NextPgpObject();
            }

            if (item is not PgpEncryptedDataList list)
            {
                throw new InvalidDataException(item is null
                    ? "The object is empty or not an OpenPGP message."
                    : $"The object is an OpenPGP {item.GetType().Name}, not an encrypted message: it was not written with OpenPGP encryption.");
            }

            var candidates = list.GetEncryptedDataObjects().OfType<PgpPublicKeyEncryptedData>().ToList();
            var match = candidates.FirstOrDefault(d => d.KeyId != 0 && keys.HasSecretKey(d.KeyId));
            Stream? clear = null;
            if (match is not null)
            {
                clear = match.GetDataStream(keys.PrivateKey(match.KeyId));
            }
            else
            {
                // Hidden recipients (key id 0, gpg --throw-keyids): try each secret key.
                foreach (var hidden in candidates.Where(d => d.KeyId == 0))
                {
                    foreach (var id in keys.SecretKeyIds)
                    {
                        try
                        {
                            clear = hidden.GetDataStream(keys.PrivateKey(id));
                            match = hidden;
                            break;
                        }
                        catch (PgpException)
                        {
                        }
                    }

                    if (clear is not null)
                    {
                        break;
                    }
                }
            }

            if (match is null || clear is null)
            {
                if (!keys.CanDecrypt)
                {
                    throw new PgArchiveConfigurationException(
                        $"{keys.Setting} holds only a public key; decrypting needs the secret key (and WALG_PGP_KEY_PASSPHRASE if it has one).");
                }

                var recipients = string.Join(", ", candidates.Select(d => PgpKeyring.FormatId(d.KeyId)));
                throw new InvalidDataException(
                    $"The OpenPGP message is encrypted to key(s) {(recipients.Length == 0 ? "(none by public key)" : recipients)}, and {keys.Setting} holds the secret key of none of them.");
            }

            if (!match.IsIntegrityProtected())
            {
                throw new InvalidDataException("The OpenPGP message has no integrity protection (MDC); refusing to trust it.");
            }

            _encrypted = match;
            var content = new PgpObjectFactory(clear);
            var packet = content.NextPgpObject();
            if (packet is PgpCompressedData compressed)
            {
                content = new PgpObjectFactory(compressed.GetDataStream());
                packet = content.NextPgpObject();
            }

            if (packet is PgpOnePassSignatureList)
            {
                packet = content.NextPgpObject();
            }

            return packet is PgpLiteralData literal
                ? literal.GetInputStream()
                : throw new InvalidDataException($"The OpenPGP message holds a {packet?.GetType().Name ?? "nothing"} where literal data belongs.");
        }

        private void Finish()
        {
            _finished = true;
            if (!_encrypted!.Verify())
            {
                throw new InvalidDataException("The OpenPGP message fails its integrity check (MDC): the object was changed.");
            }

            _input.Prefetch(1);
            if (_input.Buffered > 0)
            {
                throw new InvalidDataException("Bytes follow the OpenPGP message: the object is corrupt.");
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _literal?.Dispose();
                if (!leaveOpen)
                {
                    source.Dispose();
                }
            }

            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            _literal?.Dispose();
            if (!leaveOpen)
            {
                await source.DisposeAsync().ConfigureAwait(false);
            }

            await base.DisposeAsync().ConfigureAwait(false);
        }
    }
}
