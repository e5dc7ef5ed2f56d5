namespace UserBridge.Control.Runtime;

/// <summary>
/// A change of configuration failed and undoing it failed too: the switch runs neither the old configuration nor the
/// new one, but what <see cref="ConfigApplier.Current"/> records (the message says what could not be restored).
/// </summary>
public sealed class IncompleteRollbackException : Exception
{
    public IncompleteRollbackException()
    {
    }

    public IncompleteRollbackException(string message)
        : base(message)
    {
    }

    public IncompleteRollbackException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
