using Microsoft.Extensions.Options;
using PgArchive.Streaming;
using PgArchive.Testing;

namespace PgArchive.DependencyInjection;

public sealed class WalReceiverOptionsValidatorTests : OptionsValidatorContract<WalReceiverOptions>
{
    public static TheoryData<string, string> Rules => new()
    {
        { "SlotName", "PgArchive:WalReceiver:SlotName (WALG_SLOTNAME) must be lower-case letters, digits and underscores, at most 63 characters; it is 'Walg-1'." },
        { "FlushInterval", "PgArchive:WalReceiver:FlushInterval (--flush-interval) must not be negative; it is -00:00:01." },
        { "FlushBytes", "PgArchive:WalReceiver:FlushBytes (--flush-bytes) must not be negative; it is -1." },
        { "StatusInterval", "PgArchive:WalReceiver:StatusInterval must be positive; it is 00:00:00." },
        { "ReceiveTimeout", "PgArchive:WalReceiver:ReceiveTimeout must be positive; it is 00:00:00." },
        { "ReconnectDelay", "PgArchive:WalReceiver:ReconnectDelay must not be negative; it is -00:00:01." },
    };

    protected override IValidateOptions<WalReceiverOptions> Validator { get; } = new WalReceiverOptionsValidator();

    protected override WalReceiverOptions Valid() => new();

    protected override void Break(string rule, WalReceiverOptions options)
    {
        switch (rule)
        {
            case "SlotName": options.SlotName = "Walg-1"; break;
            case "FlushInterval": options.FlushInterval = TimeSpan.FromSeconds(-1); break;
            case "FlushBytes": options.FlushBytes = -1; break;
            case "StatusInterval": options.StatusInterval = TimeSpan.Zero; break;
            case "ReceiveTimeout": options.ReceiveTimeout = TimeSpan.Zero; break;
            case "ReconnectDelay": options.ReconnectDelay = TimeSpan.FromSeconds(-1); break;
            default: throw new ArgumentOutOfRangeException(nameof(rule), rule, null);
        }
    }
}
