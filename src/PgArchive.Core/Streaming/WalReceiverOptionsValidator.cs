using Microsoft.Extensions.Options;
using PgArchive.Streaming.Protocol;

namespace PgArchive.Streaming;

/// <summary>Checks <see cref="WalReceiverOptions"/> at start-up (and when <see cref="WalReceiver"/> starts), reporting every broken rule.</summary>
internal sealed class WalReceiverOptionsValidator : IValidateOptions<WalReceiverOptions>
{
    public ValidateOptionsResult Validate(string? name, WalReceiverOptions options)
    {
        var failures = new List<string>();
        if (options.SlotName is { Length: > 0 } slot && !ReplicationClient.IsValidSlotName(slot))
        {
            failures.Add($"PgArchive:WalReceiver:SlotName (WALG_SLOTNAME) must be lower-case letters, digits and underscores, at most 63 characters; it is '{slot}'.");
        }

        if (options.FlushInterval < TimeSpan.Zero)
        {
            failures.Add($"PgArchive:WalReceiver:FlushInterval (--flush-interval) must not be negative; it is {options.FlushInterval}.");
        }

        if (options.FlushBytes < 0)
        {
            failures.Add($"PgArchive:WalReceiver:FlushBytes (--flush-bytes) must not be negative; it is {options.FlushBytes}.");
        }

        if (options.StatusInterval <= TimeSpan.Zero)
        {
            failures.Add($"PgArchive:WalReceiver:StatusInterval must be positive; it is {options.StatusInterval}.");
        }

        if (options.ReceiveTimeout <= TimeSpan.Zero)
        {
            failures.Add($"PgArchive:WalReceiver:ReceiveTimeout must be positive; it is {options.ReceiveTimeout}.");
        }

        if (options.ReconnectDelay < TimeSpan.Zero)
        {
            failures.Add($"PgArchive:WalReceiver:ReconnectDelay must not be negative; it is {options.ReconnectDelay}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
