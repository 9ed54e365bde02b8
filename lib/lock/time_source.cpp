#include "lock/time_source.hpp"

#include <boost/asio/steady_timer.hpp>

namespace dynalock::detail {

namespace {

class steady_timer final : public timer {
public:
    explicit steady_timer(boost::asio::any_io_executor ex) : timer_(std::move(ex)) {}

    void cancel() override { timer_.cancel(); }

private:
    void wait_until(steady_clock::time_point at,
                    boost::asio::any_completion_handler<void(error_code)> h) override {
        timer_.expires_at(at);  // a wait still pending ends with operation_aborted
        timer_.async_wait(std::move(h));
    }

    boost::asio::steady_timer timer_;
};

class steady_source final : public time_source {
public:
    steady_clock::time_point now() const override { return steady_clock::now(); }
    std::unique_ptr<timer> make_timer(boost::asio::any_io_executor ex) override {
        return std::make_unique<steady_timer>(std::move(ex));
    }
};

}  // namespace

std::shared_ptr<time_source> steady_time() {
    static const auto source = std::make_shared<steady_source>();
    return source;
}

}  // namespace dynalock::detail
